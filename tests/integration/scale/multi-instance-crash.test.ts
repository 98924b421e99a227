import { expect, it } from 'vitest'
import { createDocument, registerUser } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { replayJson } from '../../helpers/log.ts'
import { openDatabase, seqs, startInstanceGroup, startInstances } from '../../helpers/multi-instance.ts'
import type { ServerProcess } from '../../helpers/process.ts'

const TYPED = 'typed through A, relayed to the others'
// A never stores on its own within the test (its debounce is a minute); the others store quickly.
const NEVER_STORES = { STORE_DEBOUNCE_MS: '60000', STORE_MAX_DEBOUNCE_MS: '60000' }
const RECOVERED = /crash recovery: loaded documents compared with the log/

const recoveries = (instance: ServerProcess) =>
  instance
    .output()
    .split('\n')
    .filter((line) => RECOVERED.test(line))
    .map((line) => JSON.parse(line) as { compared: number; stored: number })

describeEachDatabase('[multi-instance] an instance crashes before storing', (databases) => {
  it('another instance that holds the relayed edits stores them, so nothing is lost', async () => {
    const database = await databases.create()
    const [a, b] = await startInstances(database, { perInstance: [NEVER_STORES, {}] })
    const owner = await registerUser(a, 'Owner')
    const { id } = await createDocument(a, owner)
    const writer = connectHocuspocus(a, id, { token: owner.accessToken })
    const reader = connectYWebsocket(b, id, { token: owner.accessToken })
    await Promise.all([writer.synced, reader.synced])
    // A document only B's clients use: A never relayed anything about it.
    const { id: local } = await createDocument(b, owner)
    const bystander = connectHocuspocus(b, local, { token: owner.accessToken })
    await bystander.synced
    bystander.doc.getText('default').insert(0, 'only on B')
    writer.doc.getText('default').insert(0, TYPED)
    await expect.poll(() => reader.doc.getText('default').toString(), { timeout: 10_000 }).toBe(TYPED)
    writer.destroy()

    // A dies with the edit unstored; the writer never comes back. B notices A is gone and stores
    // what it holds that the log lacks.
    await a.stop('SIGKILL')
    const db = openDatabase(database)
    await expect.poll(async () => (await replayJson(db, id)).default, { timeout: 20_000, interval: 200 }).toBe(TYPED)
    // Only the document A relayed edits to was compared with its log.
    await expect.poll(() => recoveries(b), { timeout: 5_000 }).toEqual([expect.objectContaining({ compared: 1, stored: 1 })])
    expect((await replayJson(db, local)).default).toBe('only on B')
  })

  it('with two survivors holding the same edits, one of them stores them, once', async () => {
    const database = await databases.create()
    const [a, b, c] = (await startInstanceGroup(database, 3, { perInstance: [NEVER_STORES] })) as [ServerProcess, ServerProcess, ServerProcess]
    const owner = await registerUser(a, 'Owner')
    const { id } = await createDocument(a, owner)
    const writer = connectHocuspocus(a, id, { token: owner.accessToken })
    const readers = [connectHocuspocus(b, id, { token: owner.accessToken }), connectYWebsocket(c, id, { token: owner.accessToken })]
    await Promise.all([writer.synced, ...readers.map((r) => r.synced)])
    writer.doc.getText('default').insert(0, TYPED)
    for (const reader of readers) {
      await expect.poll(() => reader.doc.getText('default').toString(), { timeout: 10_000 }).toBe(TYPED)
    }
    writer.destroy()
    const db = openDatabase(database)
    const before = await seqs(db, id)

    await a.stop('SIGKILL')
    // Both survivors notice and finish; only one compared the document (the other lost the claim).
    await expect.poll(() => [b, c].map((i) => recoveries(i).length), { timeout: 20_000, interval: 200 }).toEqual([1, 1])
    const outcomes = [b, c].flatMap(recoveries)
    expect(outcomes.map((o) => o.compared).sort()).toEqual([0, 1])
    expect(outcomes.map((o) => o.stored).sort()).toEqual([0, 1])
    expect((await replayJson(db, id)).default).toBe(TYPED)
    expect(await seqs(db, id)).toEqual([...before, before.length + 1])
  })
})
