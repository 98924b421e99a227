import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, inject } from 'vitest'
import { defer } from '../helpers/cleanup.ts'
import { api, type TestUser } from '../helpers/api.ts'
import type { TestServer } from '../helpers/server.ts'

/**
 * Flags for a headless Chromium in a container: no sandbox (root), no GPU, /tmp instead of a small
 * /dev/shm, and none of the background fetches (updates, safe browsing…) this offline network
 * would refuse by the dozen.
 */
const CHROMIUM_ARGS = [
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-sync',
  '--no-first-run',
  '--metrics-recording-only',
  '--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider',
]

/** Launches the provisioned Chromium (tests/setup/chromium.ts). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: inject('chromiumPath'),
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_ARGS,
  })
}

export interface UserPage {
  context: BrowserContext
  page: Page
  /** Console errors and uncaught exceptions seen so far. */
  errors: string[]
}

/** A fresh browser context (its own storage: a separate person) on the server, closed after the test. */
export async function openPage(browser: Browser, baseURL: string): Promise<UserPage> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } })
  defer(() => context.close())
  // Every wait in these tests is for something a person would see within seconds (generous: CI runs on two busy cores).
  context.setDefaultTimeout(30_000)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))
  return { context, page, errors }
}

/** Signs up through the form. */
export async function signUpInUi(page: Page, name: string): Promise<{ email: string; password: string }> {
  const email = `${name.toLowerCase().replace(/\W+/g, '.')}.${Math.random().toString(36).slice(2, 8)}@example.test`
  const password = 'correct horse battery'
  await page.goto('/')
  await page.getByRole('link', { name: 'Create an account' }).click()
  await page.getByLabel('Name').fill(name)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.getByRole('button', { name: 'New document' }).waitFor()
  return { email, password }
}

/** Signs an existing (API-registered) user in through the form. */
export async function signInInUi(page: Page, user: Pick<TestUser, 'email' | 'password'>, path = '/'): Promise<void> {
  await page.goto(path)
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Password').fill(user.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
}

const SCREENSHOT_DIR = join(import.meta.dirname, '..', '..', 'docs', 'screenshots')

/** Saves the page for the README (docs/screenshots/<name>.png); once per run, from the SQLite pass. */
export async function saveScreenshot(page: Page, name: string, databaseKind: string): Promise<void> {
  if (databaseKind !== 'sqlite') return
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) })
}

/** One Chromium for a test file: launched before its tests, closed after them. Call at the top level. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined
  beforeAll(async () => {
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
  })
  return () => {
    if (!browser) throw new Error('the browser is launched in beforeAll: use it inside a test')
    return browser
  }
}

/** For what a person would see within seconds (generous: CI runs on two busy cores). */
export const SOON = { timeout: 30_000 }

/** A document's editor, named after its title. */
export const editorOf = (page: Page, title = 'Untitled document') => page.getByRole('textbox', { name: `${title} content` })

/** Creates a document with "New document", waits until it is saved, and answers its id. */
export async function createInUi(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'New document' }).click()
  await page.waitForURL(/#\/d\//)
  await page.getByRole('status').getByText('Saved').waitFor()
  return decodeURIComponent(new URL(page.url()).hash.replace('#/d/', ''))
}

/** Types at the end of the document's editor, as a person clicking into it would. */
export async function typeAtEnd(page: Page, text: string, title?: string): Promise<void> {
  await editorOf(page, title).click()
  await page.keyboard.press('Control+End')
  await page.keyboard.type(text)
}

/** The document's plain text as the server has it. */
export async function serverText(server: TestServer, token: string, id: string): Promise<string> {
  return (await api(server, 'GET', `/documents/${id}/content?format=text`, { token })).body.toString()
}
