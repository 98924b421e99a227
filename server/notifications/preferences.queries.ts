import { DIGEST_MINUTES, type EmailMode, type NotificationSettingsDto } from '../../shared/api/notifications.ts'
import type { Db } from '../db/schema.ts'

/** Settings of a user who never saved any: digests when there is an address to send them to. */
export function defaultSettings(hasEmail: boolean): NotificationSettingsDto {
  return { email: hasEmail ? 'digest' : 'off', digestMinutes: DIGEST_MINUTES.default }
}

/** The user's settings, or the defaults; undefined when the user doesn't exist. */
export async function findSettings(db: Db, userId: string): Promise<NotificationSettingsDto | undefined> {
  const row = await db
    .selectFrom('users')
    .leftJoin('notification_settings', 'notification_settings.user_id', 'users.id')
    .select(['users.email', 'notification_settings.email as mode', 'notification_settings.digest_minutes'])
    .where('users.id', '=', userId)
    .executeTakeFirst()
  if (!row) return undefined
  if (row.mode === null || row.digest_minutes === null) return defaultSettings(row.email !== null)
  return { email: row.mode, digestMinutes: Number(row.digest_minutes) }
}

export async function saveSettings(
  db: Db,
  userId: string,
  settings: { email: EmailMode; digestMinutes: number },
  now = Date.now(),
): Promise<void> {
  const values = { email: settings.email, digest_minutes: settings.digestMinutes, updated_at: now }
  await upsert(
    () => db.updateTable('notification_settings').set(values).where('user_id', '=', userId).executeTakeFirst(),
    () => db.insertInto('notification_settings').ignore().values({ user_id: userId, last_digest_at: null, ...values }).executeTakeFirst(),
  )
}

export async function setMuted(db: Db, userId: string, documentId: string, muted: boolean, now = Date.now()): Promise<void> {
  const values = { muted: muted ? 1 : 0, updated_at: now }
  await upsert(
    () =>
      db
        .updateTable('document_subscriptions')
        .set(values)
        .where('document_id', '=', documentId)
        .where('user_id', '=', userId)
        .executeTakeFirst(),
    () => db.insertInto('document_subscriptions').ignore().values({ document_id: documentId, user_id: userId, ...values }).executeTakeFirst(),
  )
}

/**
 * Update, else insert, else (a concurrent insert won) update again: race-safe without
 * dialect-specific upsert syntax. MySQL counts only rows whose values changed as updated, so an
 * update that changes nothing falls through to the ignored insert, which is harmless.
 */
async function upsert(
  update: () => Promise<{ numUpdatedRows: bigint }>,
  insert: () => Promise<{ numInsertedOrUpdatedRows?: bigint }>,
): Promise<void> {
  if (Number((await update()).numUpdatedRows) > 0) return
  if (Number((await insert()).numInsertedOrUpdatedRows ?? 0) > 0) return
  await update()
}
