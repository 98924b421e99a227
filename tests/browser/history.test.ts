import { expect, it } from 'vitest'
import { api, registerUser, share, type TestUser } from '../helpers/api.ts'
import { describeEachDatabase } from '../helpers/databases.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { createInUi, editorOf, openPage, saveScreenshot, signInInUi, SOON, typeAtEnd, useBrowser } from './browser.ts'

const browser = useBrowser()

/** The text of the newest stored version (the history lists stored versions only). */
async function storedText(server: TestServer, user: TestUser, id: string): Promise<string> {
  const { lastSeq } = (await api(server, 'GET', `/documents/${id}`, { token: user.accessToken })).body
  if (!lastSeq) return ''
  return (await api(server, 'GET', `/documents/${id}/versions/${lastSeq}?format=text`, { token: user.accessToken })).body.toString()
}

describeEachDatabase('[browser] the web app: history', (databases) => {
  it('lists editing sessions, previews and compares an old one, names it, and restores it for everyone', async () => {
    const server = await startTestServer(await databases.create())
    const [ada, bob] = await Promise.all(['Ada', 'Bob'].map((name) => registerUser(server, name)))
    const a = await openPage(browser(), server.url)
    await signInInUi(a.page, ada!)
    const id = await createInUi(a.page)
    await share(server, ada!, id, bob!, 'editor')
    const b = await openPage(browser(), server.url)
    await signInInUi(b.page, bob!, `/#/d/${id}`)

    await typeAtEnd(a.page, 'First draft.')
    await expect.poll(() => storedText(server, ada!, id), SOON).toBe('First draft.')

    await a.page.getByRole('button', { name: 'History' }).click()
    const history = a.page.getByRole('dialog', { name: 'History' })
    const versions = history.getByRole('list', { name: 'Versions' })
    await versions.getByRole('button', { name: /Edits/ }).click()
    await history.getByRole('textbox', { name: /^Version \d+ content$/ }).getByText('First draft.').waitFor()
    await history.getByLabel('Version name').fill('First draft')
    await history.getByRole('button', { name: 'Name version' }).click()
    await versions.getByRole('button', { name: /^First draft/ }).waitFor()
    await a.page.keyboard.press('Escape')
    await history.waitFor({ state: 'detached' })

    // A named version ends its session: the next edits are a session of their own.
    await typeAtEnd(b.page, ' Second thoughts.')
    await expect.poll(() => storedText(server, ada!, id), SOON).toBe('First draft. Second thoughts.')
    await a.page.getByRole('button', { name: 'History' }).click()
    await expect.poll(() => versions.getByRole('listitem').count(), SOON).toBe(2)
    await versions.getByRole('listitem').first().getByText('Bob').waitFor()

    await versions.getByRole('button', { name: /^First draft/ }).click()
    const preview = history.getByRole('textbox', { name: /^Version \d+ content$/ })
    await expect.poll(() => preview.textContent(), SOON).toBe('First draft.')
    await history.getByRole('insertion').getByText('Second thoughts.').waitFor()
    await saveScreenshot(a.page, 'history', databases.kind)

    await history.getByRole('button', { name: 'Restore' }).click()
    await history.getByText(/Restored version \d+/).waitFor()
    for (const page of [a.page, b.page]) await expect.poll(() => editorOf(page).textContent(), SOON).toBe('First draft.')
    await versions.getByRole('button', { name: /^Restored from version/ }).waitFor()
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('a viewer sees the history but cannot name or restore', async () => {
    const server = await startTestServer(await databases.create())
    const [ada, cy] = await Promise.all(['Ada', 'Cy'].map((name) => registerUser(server, name)))
    const a = await openPage(browser(), server.url)
    await signInInUi(a.page, ada!)
    const id = await createInUi(a.page)
    await typeAtEnd(a.page, 'Only Ada writes.')
    await expect.poll(() => storedText(server, ada!, id), SOON).toBe('Only Ada writes.')
    await share(server, ada!, id, cy!, 'viewer')

    const c = await openPage(browser(), server.url)
    await signInInUi(c.page, cy!, `/#/d/${id}`)
    await c.page.getByRole('button', { name: 'History' }).click()
    const history = c.page.getByRole('dialog', { name: 'History' })
    await history.getByRole('list', { name: 'Versions' }).getByRole('button', { name: /Edits/ }).click()
    await history.getByRole('textbox', { name: /^Version \d+ content$/ }).getByText('Only Ada writes.').waitFor()
    expect(await history.getByRole('button', { name: 'Restore' }).count()).toBe(0)
    expect(await history.getByLabel('Version name').count()).toBe(0)
    expect(c.errors).toEqual([])
  })
})
