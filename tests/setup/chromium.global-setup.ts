import type { TestProject } from 'vitest/node'
import { ensureChromium } from './chromium.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Chromium binary the browser tests launch (tests/browser). */
    chromiumPath: string
  }
}

/** Provides `chromiumPath` (CHROMIUM_PATH, else Debian's chromium, apt-installed when missing and root). */
export default async function setup(project: TestProject): Promise<void> {
  const path = await ensureChromium()
  project.provide('chromiumPath', path)
}
