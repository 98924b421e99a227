import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { createRequire } from 'node:module'
import type * as Nodemailer from 'nodemailer'
import type { Db } from '../db/schema.ts'
import { composeDigest, type DigestPayload } from './email-digests.ts'
import type { EmailMessage } from './email-templates.ts'
import { composeInvitation, type InvitationPayload } from './invitation-emails.ts'
import type { ChannelSender } from './outbox-worker.ts'

/**
 * What an email outbox row holds: what to tell, not the rendered text. The message is composed
 * when it is sent, so a retry after an outage leaves out what no longer holds (items read since,
 * access lost, an invitation revoked), and says nothing at all when nothing is left.
 */
export type EmailPayload = DigestPayload | InvitationPayload

export const emailSenderDefaults = {
  connectionTimeoutMs: 10_000,
  greetingTimeoutMs: 10_000,
  socketTimeoutMs: 30_000,
}

export interface EmailSender {
  send: ChannelSender
  close(): void
}

/** Sends email outbox rows over SMTP with nodemailer. */
export function createEmailSender(options: {
  db: Db
  log: FastifyBaseLogger
  smtpUrl: string
  from: string
  publicUrl: string
}): EmailSender {
  const { db, log, from, publicUrl } = options
  // Loaded when SMTP is configured, not by every server.
  const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof Nodemailer
  const transport = nodemailer.createTransport({
    url: options.smtpUrl,
    connectionTimeout: emailSenderDefaults.connectionTimeoutMs,
    greetingTimeout: emailSenderDefaults.greetingTimeoutMs,
    socketTimeout: emailSenderDefaults.socketTimeoutMs,
  })
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'localhost'
  return {
    send: async ({ id, idempotencyKey, payload, signal }) => {
      const message = await compose(db, payload as EmailPayload, publicUrl)
      if (!message) {
        log.debug({ outboxId: id }, 'email: nothing left to send')
        return
      }
      await transport.sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        // The same on every try, so a mail system that got a try whose answer was lost can drop the copy.
        messageId: `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@${domain}>`,
        signal,
      })
    },
    close: () => transport.close(),
  }
}

function compose(db: Db, payload: EmailPayload, publicUrl: string): Promise<EmailMessage | undefined> {
  switch (payload.kind) {
    case 'digest':
      return composeDigest(db, payload, publicUrl)
    case 'invitation':
      return composeInvitation(db, payload, publicUrl)
  }
}
