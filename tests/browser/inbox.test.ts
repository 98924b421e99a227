import { expect, it } from 'vitest'
import { api, createDocument, registerUser, share } from '../helpers/api.ts'
import { describeEachDatabase } from '../helpers/databases.ts'
import { startTestServer } from '../helpers/server.ts'
import { openPage, saveScreenshot, signInInUi, SOON, typeAtEnd, useBrowser } from './browser.ts'

const browser = useBrowser()

describeEachDatabase('[browser] the web app: inbox', (databases) => {
  it('the bell counts another person’s edits live; marking read (one, or all) brings it down; items open the document', async () => {
    const server = await startTestServer(await databases.create())
    const [ada, bob] = await Promise.all(['Ada', 'Bob'].map((name) => registerUser(server, name)))
    const plan = await createDocument(server, ada!, undefined, 'Plan')
    const notes = await createDocument(server, ada!, undefined, 'Notes')
    await share(server, ada!, plan.id, bob!, 'editor')
    await share(server, ada!, notes.id, bob!, 'editor')

    const a = await openPage(browser(), server.url)
    await signInInUi(a.page, ada!)
    await a.page.getByRole('button', { name: 'Notifications, no unread' }).waitFor()

    const b = await openPage(browser(), server.url)
    await signInInUi(b.page, bob!, `/#/d/${plan.id}`)
    await typeAtEnd(b.page, 'Bob was here.', 'Plan')
    // Live: Ada's page never reloads.
    await a.page.getByRole('button', { name: 'Notifications, 1 unread' }).waitFor(SOON)

    await a.page.getByRole('button', { name: 'Notifications, 1 unread' }).click()
    const inbox = a.page.getByRole('dialog', { name: 'Notifications' })
    const item = inbox.getByRole('listitem', { name: 'Bob edited “Plan”' })
    await item.waitFor()
    await saveScreenshot(a.page, 'inbox', databases.kind)
    await item.getByRole('button', { name: /^Mark read/ }).click()
    await a.page.getByRole('button', { name: 'Notifications, no unread' }).waitFor(SOON)

    // Two documents edited: two unread; "Mark all read" clears both.
    await b.page.goto(`/#/d/${notes.id}`)
    await typeAtEnd(b.page, 'More from Bob.', 'Notes')
    await b.page.goto(`/#/d/${plan.id}`)
    await typeAtEnd(b.page, ' Again.', 'Plan')
    await a.page.getByRole('button', { name: 'Notifications, 2 unread' }).waitFor(SOON)
    await inbox.getByRole('listitem', { name: 'Bob edited “Notes”' }).waitFor()
    await inbox.getByRole('button', { name: 'Mark all read' }).click()
    await a.page.getByRole('button', { name: 'Notifications, no unread' }).waitFor(SOON)
    expect((await api(server, 'GET', '/notifications/unread-count', { token: ada!.accessToken })).body.count).toBe(0)

    // An item opens its document.
    await inbox.getByRole('listitem', { name: 'Bob edited “Notes”' }).getByRole('link', { name: 'Open Notes' }).click()
    await a.page.getByRole('textbox', { name: 'Notes content' }).getByText('More from Bob.').waitFor(SOON)

    // Per-document mute, from the document's own toolbar.
    const mute = a.page.getByRole('button', { name: 'Mute notifications' })
    await mute.click()
    await expect.poll(async () => mute.getAttribute('aria-pressed'), SOON).toBe('true')
    expect((await api(server, 'GET', `/documents/${notes.id}/subscription`, { token: ada!.accessToken })).body).toEqual({ muted: true })
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})
