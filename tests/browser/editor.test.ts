import { expect, it } from 'vitest'
import { registerUser, share } from '../helpers/api.ts'
import { describeEachDatabase } from '../helpers/databases.ts'
import { startTestServer } from '../helpers/server.ts'
import { createInUi, editorOf, openPage, saveScreenshot, serverText, signInInUi, SOON, typeAtEnd, useBrowser } from './browser.ts'

const browser = useBrowser()

describeEachDatabase('[browser] the web app: live editor', (databases) => {
  it('two people type in one document and see each other’s text, carets and avatars; a viewer only reads', async () => {
    const server = await startTestServer(await databases.create())
    const [ada, bob, cy] = await Promise.all(['Ada', 'Bob', 'Cy'].map((name) => registerUser(server, name)))
    const a = await openPage(browser(), server.url)
    await signInInUi(a.page, ada!)
    const id = await createInUi(a.page)
    await share(server, ada!, id, bob!, 'editor')
    await share(server, ada!, id, cy!, 'viewer')

    const b = await openPage(browser(), server.url)
    // A document link opened while signed out asks to sign in, then opens that document.
    await signInInUi(b.page, bob!, `/#/d/${id}`)
    await b.page.getByRole('status').getByText('Saved').waitFor()

    await typeAtEnd(a.page, 'Hello from Ada.')
    await expect.poll(() => editorOf(b.page).textContent(), SOON).toContain('Hello from Ada.')
    await typeAtEnd(b.page, ' And Bob.')
    await expect.poll(() => editorOf(a.page).textContent(), SOON).toContain('Hello from Ada. And Bob.')

    // Each sees the other's named caret and avatar.
    await editorOf(a.page).getByRole('img', { name: 'Bob’s cursor' }).waitFor()
    await editorOf(b.page).getByRole('img', { name: 'Ada’s cursor' }).waitFor()
    const people = a.page.getByRole('list', { name: 'People here' })
    await people.getByRole('listitem', { name: 'Bob' }).waitFor()
    await people.getByRole('listitem', { name: 'Ada (you)' }).waitFor()
    await a.page.getByRole('status').getByText('Saved').waitFor()
    await saveScreenshot(a.page, 'editor', databases.kind)
    await expect.poll(() => serverText(server, ada!.accessToken, id), SOON).toBe('Hello from Ada. And Bob.')

    const c = await openPage(browser(), server.url)
    await signInInUi(c.page, cy!, `/#/d/${id}`)
    const viewerEditor = editorOf(c.page)
    await expect.poll(() => viewerEditor.textContent(), SOON).toContain('Hello from Ada. And Bob.')
    expect(await viewerEditor.getAttribute('contenteditable')).toBe('false')
    expect(await viewerEditor.getAttribute('aria-readonly')).toBe('true')
    await c.page.getByText('View only').waitFor()
    await viewerEditor.click()
    await c.page.keyboard.type('viewer was here')
    await typeAtEnd(a.page, ' Done.')
    await expect.poll(() => viewerEditor.textContent(), SOON).toContain('And Bob. Done.')
    expect(await viewerEditor.textContent()).not.toContain('viewer was here')
    await expect.poll(() => serverText(server, ada!.accessToken, id), SOON).toBe('Hello from Ada. And Bob. Done.')

    expect([...a.errors, ...b.errors, ...c.errors]).toEqual([])
  })

  it('keeps edits made offline and merges them when the browser is back online', async () => {
    const server = await startTestServer(await databases.create())
    const [ada, bob] = await Promise.all(['Ada', 'Bob'].map((name) => registerUser(server, name)))
    const a = await openPage(browser(), server.url)
    await signInInUi(a.page, ada!)
    const id = await createInUi(a.page)
    await share(server, ada!, id, bob!, 'editor')
    const b = await openPage(browser(), server.url)
    await signInInUi(b.page, bob!, `/#/d/${id}`)
    await typeAtEnd(a.page, 'Start.')
    await expect.poll(() => editorOf(b.page).textContent(), SOON).toContain('Start.')

    await b.context.setOffline(true)
    await b.page.getByRole('status').getByText('Offline').waitFor()
    await typeAtEnd(b.page, ' Written offline.')
    await typeAtEnd(a.page, ' Written online.')
    await expect.poll(() => serverText(server, ada!.accessToken, id), SOON).toBe('Start. Written online.')
    expect(await editorOf(b.page).textContent()).not.toContain('Written online.')

    await b.context.setOffline(false)
    for (const page of [a.page, b.page]) {
      await expect.poll(() => editorOf(page).textContent(), SOON).toContain('Written offline.')
      await expect.poll(() => editorOf(page).textContent(), SOON).toContain('Written online.')
    }
    await b.page.getByRole('status').getByText('Saved').waitFor()
    const finalText = await serverText(server, ada!.accessToken, id)
    expect(finalText).toContain('Written offline.')
    expect(finalText).toContain('Written online.')
    // Both editors show exactly what the server has.
    for (const page of [a.page, b.page]) await expect.poll(() => editorOf(page).textContent(), SOON).toBe(finalText)
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})
