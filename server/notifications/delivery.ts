import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config/config.ts'
import type { DatabaseHandle } from '../db/connect.ts'
import type { Db, Trx } from '../db/schema.ts'
import type { StoredRows } from '../versions/update-log.options.ts'
import { DigestScheduler, type DigestSchedulerOptions } from './email-digests.ts'
import { createEmailSender, type EmailSender } from './email-sender.ts'
import { DocumentWebhooks, type documentWebhooksDefaults } from './document-webhooks.ts'
import { enqueueInvitationEmail } from './invitation-emails.ts'
import { OutboxWorker, type OutboxWorkerOptions } from './outbox-worker.ts'
import { WebhookEvents } from './webhook-events.ts'
import { createWebhookSender } from './webhook-sender.ts'

/** Timing of the background work; tests shorten it, production keeps the defaults. */
export interface DeliveryTiming {
  outbox?: Pick<OutboxWorkerOptions, 'pollIntervalMs' | 'leaseMs' | 'retryBaseMs' | 'retryMaxMs' | 'batchSize' | 'stopGraceMs'>
  digests?: Pick<DigestSchedulerOptions, 'intervalMs' | 'minuteMs'>
  documentWebhooks?: Partial<typeof documentWebhooksDefaults>
}

/**
 * Everything that leaves the server through the outbox: webhook events (queued by the routes and
 * the update log), email digests and invitation emails, and the worker that sends them.
 */
export class Delivery {
  /** Queues webhook events (one outbox row per endpoint); a no-op without `WEBHOOK_URLS`. */
  readonly webhookEvents: WebhookEvents
  readonly documentWebhooks: DocumentWebhooks
  readonly worker: OutboxWorker
  /** Undefined when email is off (no `SMTP_URL`). */
  readonly digests: DigestScheduler | undefined
  readonly #email: EmailSender | undefined
  readonly #detach: () => void

  constructor(
    config: Pick<Config, 'email' | 'publicUrl' | 'webhookUrls' | 'webhookSecret' | 'outboxMaxAttempts'>,
    deps: {
      database: DatabaseHandle
      log: FastifyBaseLogger
      updateLog: { onStored(listener: (stored: StoredRows) => void): () => void }
    },
    timing: DeliveryTiming = {},
  ) {
    const { db, kind } = deps.database
    const log = deps.log
    this.webhookEvents = new WebhookEvents(config.webhookUrls)
    this.documentWebhooks = new DocumentWebhooks({ db, events: this.webhookEvents, log, ...timing.documentWebhooks })
    this.#detach = this.documentWebhooks.attach(deps.updateLog)
    this.#email = config.email && createEmailSender({ db, log, ...config.email, publicUrl: config.publicUrl })
    this.worker = new OutboxWorker({
      db,
      dialect: kind,
      log,
      maxAttempts: config.outboxMaxAttempts,
      senders: {
        webhook: config.webhookSecret ? createWebhookSender(config.webhookSecret) : undefined,
        email: this.#email?.send,
      },
      ...timing.outbox,
    })
    this.digests =
      this.#email && new DigestScheduler({ db, log, ...timing.digests, onQueued: () => this.worker.nudge() })
  }

  /** Emails an invitation to someone without an account; a no-op when email is off. */
  async emailInvitation(db: Db | Trx, invitation: { documentId: string; email: string; invitedBy: string }): Promise<void> {
    if (!this.#email) return
    await enqueueInvitationEmail(db, invitation)
    this.worker.nudge()
  }

  start(): void {
    this.worker.start()
    this.digests?.start()
  }

  /** After the update log's last flush: queues pending `document.updated` events, then stops sending. */
  async stop(): Promise<void> {
    this.#detach()
    await this.documentWebhooks.stop()
    await this.digests?.stop()
    await this.worker.stop()
    this.#email?.close()
  }
}
