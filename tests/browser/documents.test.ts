import { expect, it } from 'vitest'
import { api, createDocument, registerUser, share } from '../helpers/api.ts'
import { describeEachDatabase } from '../helpers/databases.ts'
import { startTestServer } from '../helpers/server.ts'
import { openPage, saveScreenshot, signInInUi, signUpInUi, useBrowser } from './browser.ts'

const browser = useBrowser()

describeEachDatabase('[browser] the web app: accounts and documents', (databases) => {
  it('serves a first screen that signs in or signs up, calls no API while signed out and logs no error', async () => {
    const server = await startTestServer(await databases.create())
    const { page, errors } = await openPage(browser(), server.url)
    const apiCalls: string[] = []
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) apiCalls.push(request.url())
    })
    const response = await page.goto('/')
    expect(response?.status()).toBe(200)
    expect(response?.headers()['cache-control']).toBe('no-cache')
    const csp = response?.headers()['content-security-policy'] ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')

    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    await page.getByLabel('Email').waitFor()
    await page.getByLabel('Password').waitFor()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    await page.getByRole('link', { name: 'Create an account' }).waitFor()
    await saveScreenshot(page, 'sign-in', databases.kind)

    // Hashed assets are cached for good; the favicon is served; the API keeps its own strict policy.
    const script = await page.locator('script[type="module"]').getAttribute('src')
    expect(script).toMatch(/^\/assets\/app-[A-Z0-9]+\.js$/)
    const asset = await api(server, 'GET', `/${script}`)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('cache-control')).toContain('immutable')
    expect((await api(server, 'GET', '//favicon.svg')).status).toBe(200)
    expect((await api(server, 'GET', '//assets/nope.js')).status).toBe(404)
    const apiCsp = (await api(server, 'GET', '//health')).headers.get('content-security-policy')
    expect(apiCsp).toContain("default-src 'none'")

    expect(apiCalls).toEqual([])
    expect(errors).toEqual([])
  })

  it('signs up, creates, renames and deletes (with confirmation), keeps the session over a reload, signs out', async () => {
    const server = await startTestServer(await databases.create())
    const { page, errors } = await openPage(browser(), server.url)
    const { email, password } = await signUpInUi(page, 'Ada')

    await page.getByRole('button', { name: 'New document' }).click()
    await page.waitForURL(/#\/d\//)
    await page.getByRole('link', { name: 'Collab' }).click()
    await page.getByRole('link', { name: 'Untitled document' }).waitFor()

    await page.getByRole('button', { name: 'Rename Untitled document' }).click()
    const dialog = page.getByRole('dialog', { name: 'Rename document' })
    await dialog.getByLabel('Title').fill('Quarterly plan')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('link', { name: 'Quarterly plan' }).waitFor()

    await page.reload()
    await page.getByRole('link', { name: 'Quarterly plan' }).waitFor()

    await page.getByRole('button', { name: 'Delete Quarterly plan' }).click()
    const confirm = page.getByRole('dialog', { name: 'Delete document?' })
    await confirm.getByRole('button', { name: 'Cancel' }).click()
    await page.getByRole('link', { name: 'Quarterly plan' }).waitFor()
    await page.getByRole('button', { name: 'Delete Quarterly plan' }).click()
    await confirm.getByRole('button', { name: 'Delete' }).click()
    await page.getByText('No documents yet').waitFor()
    const me = await api(server, 'POST', '/auth/login', { body: { email, password } })
    expect((await api(server, 'GET', '/documents', { token: me.body.accessToken })).body.items).toEqual([])

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    await page.reload()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    expect(errors).toEqual([])
  })

  it('lists mine and shared documents newest first, searches titles and loads more on scroll', async () => {
    const server = await startTestServer(await databases.create())
    const [ada, bob] = await Promise.all([registerUser(server, 'Ada'), registerUser(server, 'Bob')])
    for (let i = 1; i <= 24; i++) await createDocument(server, ada, undefined, `Note ${String(i).padStart(2, '0')}`)
    const shared = await createDocument(server, bob, undefined, 'Shared roadmap')
    await share(server, bob, shared.id, ada, 'viewer')

    const { page, errors } = await openPage(browser(), server.url)
    await signInInUi(page, ada)
    const list = page.getByRole('list', { name: 'Documents' })
    await list.getByRole('link', { name: 'Shared roadmap' }).waitFor()
    await expect.poll(() => list.getByRole('link').count()).toBe(20)
    const titles = await list.getByRole('link').allTextContents()
    expect(titles.slice(0, 3)).toEqual(['Shared roadmap', 'Note 24', 'Note 23'])
    await expect.poll(() => list.getByRole('listitem').first().textContent()).toContain('Shared with you')
    await saveScreenshot(page, 'documents', databases.kind)

    await page.getByRole('button', { name: 'Load more' }).scrollIntoViewIfNeeded()
    await expect.poll(() => list.getByRole('link').count()).toBe(25)
    await list.getByRole('link', { name: 'Note 01' }).waitFor()

    await page.getByLabel('Search documents').fill('roadmap')
    await expect.poll(() => list.getByRole('link').allTextContents()).toEqual(['Shared roadmap'])
    await page.getByLabel('Search documents').fill('nothing like this')
    await page.getByText('No documents match your search.').waitFor()
    expect(errors).toEqual([])
  })
})
