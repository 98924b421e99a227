import { createConnection } from 'mysql2/promise'
import { expect, inject, it } from 'vitest'

it('[mysql] probe can create and drop a database', async () => {
  const url = inject('mysqlUrl')
  expect(url).toMatch(/^mysql:\/\//)
  const c = await createConnection({ uri: url })
  await c.query('CREATE DATABASE probe_x')
  await c.query('DROP DATABASE probe_x')
  const [rows] = await c.query('SELECT VERSION() AS v, @@max_allowed_packet AS p, CURRENT_USER() AS u')
  console.log(url, rows)
  await c.end()
})
