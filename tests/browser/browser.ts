import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { inject } from 'vitest'
import { defer } from '../helpers/cleanup.ts'
import type { TestUser } from '../helpers/api.ts'

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

/** Launches the provisioned Chromium (tests/setup/chromium.ts); closed when the file's tests end. */
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
