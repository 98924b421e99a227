import type { Migration } from 'kysely/migration'
import * as m0001 from './0001_documents_and_update_log.ts'
import * as m0002 from './0002_users_and_sharing.ts'
import * as m0003 from './0003_invitations.ts'
import * as m0004 from './0004_job_locks.ts'
import * as m0005 from './0005_notifications.ts'

/** Every migration, in order. A static list: no directory scanning, so it works the same from any cwd. */
export const migrations: Record<string, Migration> = {
  '0001_documents_and_update_log': m0001,
  '0002_users_and_sharing': m0002,
  '0003_invitations': m0003,
  '0004_job_locks': m0004,
  '0005_notifications': m0005,
}
