import { createServer } from 'node:net'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { defer } from './cleanup.ts'

/** A received email, parsed, with the envelope it came in. */
export interface ReceivedMail {
  to: string[]
  from: string | undefined
  mail: ParsedMail
}

export interface SmtpSink {
  port: number
  /** `SMTP_URL` for the server under test. */
  url: string
  messages: ReceivedMail[]
  /** Starts accepting mail on `port` (again). */
  up(): Promise<void>
  /** Stops accepting: connections are refused, as from a mail server that is down. */
  down(): Promise<void>
}

/**
 * A real SMTP server on a local port (the `smtp-server` package, no TLS, no auth) that keeps every
 * message it accepts. Its port is reserved at once, so a server under test can be pointed at it
 * while it is still down.
 */
export async function smtpSink(options: { startDown?: boolean } = {}): Promise<SmtpSink> {
  const port = await freePort()
  const messages: ReceivedMail[] = []
  let server: SMTPServer | undefined
  const sink: SmtpSink = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async up() {
      if (server) return
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS', 'AUTH'],
        logger: false,
        onData(stream, session, callback) {
          simpleParser(stream).then(
            (mail) => {
              messages.push({
                mail,
                to: session.envelope.rcptTo.map((r) => r.address),
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
              })
              callback()
            },
            (error: Error) => callback(error),
          )
        },
      })
      const listening = server
      await new Promise<void>((resolve, reject) => {
        listening.server.once('error', reject)
        listening.listen(port, '127.0.0.1', () => resolve())
      })
    },
    async down() {
      const running = server
      server = undefined
      if (running) await new Promise<void>((resolve) => running.close(() => resolve()))
    },
  }
  if (!options.startDown) await sink.up()
  defer(() => sink.down())
  return sink
}

async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}
