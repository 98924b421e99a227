import { expect, it } from 'vitest'
import { createDocument, registerUser } from '../../helpers/api.ts'
import { connectHocuspocus } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { replayJson } from '../../helpers/log.ts'
import { openDatabase, startInstances } from '../../helpers/multi-instance.ts'

describeEachDatabase('[multi-instance] an instance crashes before storing', (databases) => {
  it('another instance that holds the relayed edits stores them, so nothing is lost', async () => {
    const database = await databases.create()
    // A never stores on its own within the test (its debounce is a minute); B stores quickly.
    const [a, b] = await startInstances(database, {
      perInstance: [{ STORE_DEBOUNCE_MS: '60000', STORE_MAX_DEBOUNCE_MS: '60000' }, {}],
    })
    const owner = await registerUser(a, 'Owner')
    const { id } = await createDocument(a, owner)
    const writer = connectHocuspocus(a, id, { token: owner.accessToken })
    const reader = connectHocuspocus(b, id, { token: owner.accessToken })
    await Promise.all([writer.synced, reader.synced])
    writer.doc.getText('default').insert(0, 'typed through A, relayed to B')
    await expect.poll(() => reader.doc.getText('default').toString(), { timeout: 10_000 }).toBe('typed through A, relayed to B')
    writer.destroy()

    // A dies with the edit unstored; the writer never comes back. B notices A is gone and stores
    // what it holds that the log lacks.
    await a.stop('SIGKILL')
    const db = openDatabase(database)
    await expect.poll(async () => (await replayJson(db, id)).default, { timeout: 20_000, interval: 200 }).toBe(
      'typed through A, relayed to B',
    )
  })
})
