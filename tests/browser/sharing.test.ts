import { expect, it } from 'vitest'
import { api, registerUser } from '../helpers/api.ts'
import { describeEachDatabase } from '../helpers/databases.ts'
import { startTestServer } from '../helpers/server.ts'
import { createInUi, editorOf, openPage, saveScreenshot, serverText, signInInUi, SOON, typeAtEnd, useBrowser } from './browser.ts'

const browser = useBrowser()

describeEachDatabase('[browser] the web app: sharing', (databases) => {
  it('the owner invites an account by email (editor at once), changes the role and removes them', async () => {
    const server = await startTestServer(await databases.create())
    const [ada, bob] = await Promise.all(['Ada', 'Bob'].map((name) => registerUser(server, name)))
    const a = await openPage(browser(), server.url)
    await signInInUi(a.page, ada!)
    const id = await createInUi(a.page)

    await a.page.getByRole('button', { name: 'Share' }).click()
    const dialog = a.page.getByRole('dialog', { name: 'Share' })
    await dialog.getByLabel('Email', { exact: true }).fill(bob!.email)
    await dialog.getByLabel('Role', { exact: true }).selectOption({ label: 'Editor' })
    await dialog.getByRole('button', { name: 'Invite' }).click()
    const people = dialog.getByRole('list', { name: 'People with access' })
    await people.getByRole('listitem', { name: 'Bob' }).waitFor()
    expect(await dialog.getByLabel('Role for Bob').inputValue()).toBe('editor')
    await saveScreenshot(a.page, 'share', databases.kind)

    // Bob is an editor at once: the document is in his list and he can type.
    const b = await openPage(browser(), server.url)
    await signInInUi(b.page, bob!)
    await b.page.getByRole('link', { name: 'Untitled document' }).click()
    await typeAtEnd(b.page, 'Bob writes.')
    await expect.poll(() => serverText(server, ada!.accessToken, id), SOON).toBe('Bob writes.')

    await dialog.getByLabel('Role for Bob').selectOption({ label: 'Viewer' })
    await expect.poll(async () => (await api(server, 'GET', `/documents/${id}`, { token: bob!.accessToken })).body.role, SOON).toBe('viewer')
    // His open editor follows at once, without a reload: read-only, then writable again.
    const bobEditor = editorOf(b.page)
    await expect.poll(() => bobEditor.getAttribute('contenteditable'), SOON).toBe('false')
    await b.page.getByText('View only').waitFor()
    await dialog.getByLabel('Role for Bob').selectOption({ label: 'Editor' })
    await expect.poll(() => bobEditor.getAttribute('contenteditable'), SOON).toBe('true')
    await typeAtEnd(b.page, ' Again.')
    await expect.poll(() => serverText(server, ada!.accessToken, id), SOON).toBe('Bob writes. Again.')
    // A rename shows in his header too.
    await dialog.press('Escape')
    const title = a.page.getByLabel('Title', { exact: true })
    await title.fill('Plans')
    await title.press('Enter')
    await expect.poll(() => b.page.getByLabel('Title', { exact: true }).inputValue(), SOON).toBe('Plans')
    await a.page.getByRole('button', { name: 'Share' }).click()

    // Removing him closes his open editor.
    await dialog.getByRole('button', { name: 'Remove Bob' }).click()
    await people.getByRole('listitem', { name: 'Bob' }).waitFor({ state: 'detached' })
    await b.page.getByRole('alert').getByText('no longer available').waitFor()
    expect(await editorOf(b.page).count()).toBe(0)
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('share links open the document without an account: an editor link edits, a viewer link reads, revoking closes it', async () => {
    const server = await startTestServer(await databases.create())
    const ada = await registerUser(server, 'Ada')
    const a = await openPage(browser(), server.url)
    await a.context.grantPermissions(['clipboard-read', 'clipboard-write'])
    await signInInUi(a.page, ada)
    const id = await createInUi(a.page)
    await typeAtEnd(a.page, 'Shared text.')

    await a.page.getByRole('button', { name: 'Share' }).click()
    const dialog = a.page.getByRole('dialog', { name: 'Share' })
    const createLink = async (role: 'Editor' | 'Viewer', expires: string, previous = '') => {
      await dialog.getByLabel('Link role').selectOption({ label: role })
      await dialog.getByLabel('Expires').selectOption({ label: expires })
      await dialog.getByRole('button', { name: 'Create link' }).click()
      const field = dialog.getByLabel('Share link (shown once)')
      await expect.poll(async () => { const url = await field.inputValue(); return url.includes('?link=') && url !== previous }, SOON).toBe(true)
      return field.inputValue()
    }
    const editorLink = await createLink('Editor', 'Never')
    await dialog.getByRole('button', { name: 'Copy' }).click()
    await dialog.getByText('Copied to the clipboard.').waitFor()
    expect(await a.page.evaluate(() => navigator.clipboard.readText())).toBe(editorLink)
    const viewerLink = await createLink('Viewer', '7 days', editorLink)

    // A fresh context with no account at all.
    const guest = await openPage(browser(), server.url)
    await guest.page.goto(editorLink)
    await expect.poll(() => editorOf(guest.page).textContent(), SOON).toContain('Shared text.')
    expect(await guest.page.getByRole('button', { name: 'Sign out' }).count()).toBe(0)
    await typeAtEnd(guest.page, ' Guest edit.')
    await expect.poll(() => editorOf(a.page).textContent(), SOON).toContain('Shared text. Guest edit.')
    // The guest shows up as a guest in the owner's presence row.
    await a.page.getByRole('list', { name: 'People here' }).getByRole('listitem', { name: 'Guest' }).waitFor()

    const reader = await openPage(browser(), server.url)
    await reader.page.goto(viewerLink)
    await expect.poll(() => editorOf(reader.page).textContent(), SOON).toContain('Guest edit.')
    expect(await editorOf(reader.page).getAttribute('contenteditable')).toBe('false')
    await reader.page.getByText('View only').waitFor()
    await saveScreenshot(reader.page, 'share-link-viewer', databases.kind)

    const links = dialog.getByRole('list', { name: 'Share links' })
    await links.getByRole('listitem', { name: /^Editor link/ }).waitFor()
    await links.getByRole('button', { name: /^Revoke Editor link/ }).click()
    await guest.page.getByRole('alert').getByText('This share link no longer works').waitFor()
    expect(await editorOf(guest.page).count()).toBe(0)
    // The viewer link still works.
    expect(await editorOf(reader.page).count()).toBe(1)
    await expect.poll(() => serverText(server, ada.accessToken, id), SOON).toBe('Shared text. Guest edit.')
    expect([...a.errors, ...guest.errors, ...reader.errors]).toEqual([])
  })
})
