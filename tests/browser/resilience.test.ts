import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { api, createDocument, registerUser } from '../helpers/api.ts'
import { createClerkTestIssuer } from '../helpers/clerk.ts'
import { describeEachDatabase } from '../helpers/databases.ts'
import { startTestServer } from '../helpers/server.ts'
import { openPage, saveScreenshot, signInInUi, SOON, useBrowser } from './browser.ts'

const browser = useBrowser()

const storedSession = (page: Page) =>
  page.evaluate(() => JSON.parse(localStorage.getItem('collab.session') ?? 'null') as { accessToken: string; refreshToken: string } | null)

const isFocused = (page: Page, locator: ReturnType<Page['getByRole']>) =>
  locator.evaluate((element) => element === document.activeElement)

describeEachDatabase('[browser] the web app: errors, tokens and keyboard', (databases) => {
  it('says clearly when the server is unreachable, a document is missing, or the session has ended', async () => {
    const server = await startTestServer(await databases.create())
    const ada = await registerUser(server, 'Ada')
    const { page, context } = await openPage(browser(), server.url)
    await signInInUi(page, ada)

    await context.setOffline(true)
    await page.getByRole('button', { name: 'New document' }).click()
    await page.getByRole('alert').getByText("Can't reach the server").waitFor()
    await context.setOffline(false)
    await page.getByRole('button', { name: 'Dismiss' }).click()

    await page.goto('/#/d/no-such-document')
    await page.getByRole('alert').getByText('Not found').waitFor()
    await page.getByRole('link', { name: 'Back to documents' }).click()
    await page.getByRole('button', { name: 'New document' }).waitFor()

    // The sign-in ends elsewhere (signed out from another device): the open page notices (its
    // notification stream ends, a refresh is refused) and says so.
    const session = await storedSession(page)
    expect((await api(server, 'POST', '/auth/logout', { body: { refreshToken: session!.refreshToken } })).status).toBe(204)
    await page.getByText('Your session has expired. Please sign in again.').waitFor()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
  })

  it('keeps the editor, its socket and the notification stream alive across access-token expiry', async () => {
    const server = await startTestServer(await databases.create(), { ACCESS_TOKEN_TTL_SECONDS: '10' })
    const ada = await registerUser(server, 'Ada')
    const doc = await createDocument(server, ada, undefined, 'Long session')
    const { page, errors } = await openPage(browser(), server.url)
    await signInInUi(page, ada, `/#/d/${doc.id}`)
    const editor = page.getByRole('textbox', { name: 'Long session content' })
    await editor.click()
    await page.keyboard.type('Before expiry.')
    const first = (await storedSession(page))!.accessToken
    // Two lifetimes of the first token pass while the page stays open.
    await expect.poll(async () => (await storedSession(page))?.accessToken !== first, { timeout: 30_000 }).toBe(true)
    const second = (await storedSession(page))!.accessToken
    await expect.poll(async () => (await storedSession(page))?.accessToken !== second, { timeout: 30_000 }).toBe(true)
    await page.keyboard.type(' After expiry.')
    // Our own tokens expire as fast: sign in afresh for each look at the server's copy.
    const serverText = async () => {
      const { accessToken } = (await api(server, 'POST', '/auth/login', { body: { email: ada.email, password: ada.password } })).body
      return (await api(server, 'GET', `/documents/${doc.id}/content?format=text`, { token: accessToken })).body.toString()
    }
    await expect.poll(serverText, SOON).toBe('Before expiry. After expiry.')
    await page.getByRole('status').getByText('Saved').waitFor()
    await page.getByRole('button', { name: 'Notifications, no unread' }).waitFor()
    expect(errors).toEqual([])
  })

  it('dialogs work from the keyboard: focus moves in, Enter submits, Escape closes and focus returns', async () => {
    const server = await startTestServer(await databases.create())
    const ada = await registerUser(server, 'Ada')
    await createDocument(server, ada, undefined, 'Draft')
    const { page, errors } = await openPage(browser(), server.url)
    await signInInUi(page, ada)

    const renameButton = page.getByRole('button', { name: 'Rename Draft' })
    await renameButton.focus()
    await page.keyboard.press('Enter')
    const dialog = page.getByRole('dialog', { name: 'Rename document' })
    const title = dialog.getByLabel('Title')
    // Focus moves in once the dialog has rendered.
    await expect.poll(() => isFocused(page, title), { timeout: 5_000 }).toBe(true)
    await page.keyboard.press('Control+A')
    await page.keyboard.type('Final')
    await page.keyboard.press('Enter')
    await page.getByRole('link', { name: 'Final' }).waitFor()

    const deleteButton = page.getByRole('button', { name: 'Delete Final' })
    await deleteButton.focus()
    await page.keyboard.press('Enter')
    const confirm = page.getByRole('dialog', { name: 'Delete document?' })
    // The safe choice has the focus: Enter alone never deletes.
    await expect.poll(() => isFocused(page, confirm.getByRole('button', { name: 'Cancel' })), { timeout: 5_000 }).toBe(true)
    await page.keyboard.press('Escape')
    await confirm.waitFor({ state: 'detached' })
    // Focus returns once the dialog has unmounted, in the next render.
    await expect.poll(() => isFocused(page, deleteButton), { timeout: 5_000 }).toBe(true)
    await page.getByRole('link', { name: 'Final' }).waitFor()
    expect(errors).toEqual([])
  })

  it('in Clerk mode, the first screen points to Clerk’s own sign-in and calls no API', async () => {
    const issuer = await createClerkTestIssuer()
    const server = await startTestServer(await databases.create(), issuer.env)
    const { page, errors } = await openPage(browser(), server.url)
    const apiCalls: string[] = []
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) apiCalls.push(request.url())
    })
    expect((await page.goto('/'))?.status()).toBe(200)
    await page.getByRole('heading', { name: 'Sign in with Clerk' }).waitFor()
    await page.getByRole('link', { name: 'Clerk documentation' }).waitFor()
    expect(await page.getByLabel('Password').count()).toBe(0)
    await saveScreenshot(page, 'clerk-mode', databases.kind)
    expect(apiCalls).toEqual([])
    expect(errors).toEqual([])
  })
})
