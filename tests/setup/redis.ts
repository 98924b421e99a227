import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { freePort, redactUrl } from './mariadb.ts'
import { findOrInstall } from './system-binaries.ts'

/**
 * A throwaway Redis started from the local `redis-server` binary: its own port on 127.0.0.1, no
 * persistence (`--save '' --appendonly no`), no config file, so it never touches a system Redis.
 * Without persistence a restart on the same port comes back EMPTY: the outage case the
 * multi-instance mode must survive.
 */
export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** The current server's pid (changes on restart). */
  readonly pid: number
  /** SIGKILL: an outage where every connection drops at once. Resolves once the process is gone. */
  kill(): Promise<void>
  /** Starts it again on the same port, empty (after `kill`, or kills it first). */
  restart(): Promise<void>
  /** SIGSTOP / SIGCONT: an outage where sockets stay open but nothing answers. */
  freeze(): void
  thaw(): void
  /** SIGTERM (SIGKILL after `timeoutMs`), then removes its folder. Safe to call twice. */
  stop(timeoutMs?: number): Promise<void>
}

const START_TIMEOUT_MS = 10_000
const STOP_TIMEOUT_MS = 5_000

export const HOW_TO_GET_REDIS =
  'The multi-instance tests need Redis: either set TEST_REDIS_URL=redis://host:6379 (a server the ' +
  'tests may write to; keys are prefixed per test), or install redis-server locally (Debian/Ubuntu: ' +
  '`apt-get install --no-install-recommends redis-server`; nothing needs to be running, the tests ' +
  'start their own server). The Redis outage tests always start their own from the local binary.'

/**
 * Finds `redis-server`; when it is missing and we are root, installs it with apt (the Debian
 * package cannot start its service without systemd, so this only adds the binary). Throws with
 * instructions when there is still no binary.
 */
export async function ensureRedisBinary(): Promise<string> {
  const { path: binary, note: installNote } = await findOrInstall({
    label: 'redis',
    names: ['redis-server'],
    packages: ['--no-install-recommends', 'redis-server'],
    howTo: HOW_TO_GET_REDIS,
  })
  if (!binary) {
    throw new Error(`No \`redis-server\` binary was found (PATH and the usual sbin/bin folders), and ${installNote}. ${HOW_TO_GET_REDIS}`)
  }
  return binary
}

/** Answers true once a plain-TCP `PING` gets `+PONG` (a loading or frozen server does not). */
function pings(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!exited(child)) {
    if (Date.now() > deadline) return false
    await sleep(20)
  }
  return true
}

async function lastLines(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim().split('\n').slice(-20).join('\n')
  } catch {
    return '(no log was written)'
  }
}

/**
 * Starts `redis-server` on a free port (or on `port`, for a restart) and waits for `+PONG`.
 * Retries on another free port when the probed one was taken meanwhile (not on a fixed port).
 */
async function spawnRedis(binary: string, dir: string, port?: number): Promise<{ child: ChildProcess; port: number }> {
  let lastError: Error | undefined
  for (let attempt = 1; attempt <= (port ? 20 : 3); attempt++) {
    const chosen = port ?? (await freePort())
    const logFile = join(dir, 'redis.log')
    const child = spawn(
      binary,
      ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--daemonize', 'no', '--logfile', logFile],
      { detached: true, stdio: 'ignore' },
    )
    child.unref()
    const deadline = Date.now() + START_TIMEOUT_MS
    while (Date.now() < deadline && !exited(child)) {
      if (await pings(chosen)) return { child, port: chosen }
      await sleep(20)
    }
    if (!exited(child)) child.kill('SIGKILL')
    await waitForExit(child, STOP_TIMEOUT_MS)
    const log = await lastLines(logFile)
    lastError = new Error(`redis-server did not answer PING on 127.0.0.1:${chosen}. Its log:\n${log}`)
    // A fixed port (restart) may still be held by the killed server's socket for a moment.
    if (!/Address already in use/i.test(log)) break
    if (port) await sleep(100)
  }
  throw lastError ?? new Error('redis-server did not start')
}

/** Starts a private Redis from the local binary (apt-installed when missing and root). */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const binary = await ensureRedisBinary()
  const dir = await mkdtemp(join(tmpdir(), 'collab-redis-'))
  let current: ChildProcess
  let port: number
  try {
    ;({ child: current, port } = await spawnRedis(binary, dir))
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  // Exit handlers must be synchronous: kill hard (the data is throwaway) and remove the folder.
  const killOnExit = () => {
    try {
      current.kill('SIGKILL')
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', killOnExit)
  let stopped = false
  const kill = async () => {
    if (!exited(current)) current.kill('SIGKILL')
    await waitForExit(current, STOP_TIMEOUT_MS)
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return current.pid ?? -1
    },
    kill,
    async restart() {
      await kill()
      ;({ child: current } = await spawnRedis(binary, dir, port))
    },
    freeze() {
      current.kill('SIGSTOP')
    },
    thaw() {
      current.kill('SIGCONT')
    },
    async stop(timeoutMs = STOP_TIMEOUT_MS) {
      if (stopped) return
      stopped = true
      if (!exited(current)) {
        current.kill('SIGCONT') // a frozen server cannot act on SIGTERM
        current.kill('SIGTERM')
        if (!(await waitForExit(current, timeoutMs))) await kill()
      }
      process.removeListener('exit', killOnExit)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Checks that an externally provided Redis answers (and accepts writes); throws a readable error. */
export async function checkRedisUrl(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  // The socket error says why ("ECONNREFUSED…"); the rejected command only says "Connection is closed".
  let socketError: Error | undefined
  client.on('error', (error: Error) => {
    socketError ??= error
  })
  try {
    await client.connect()
    await client.set(`collab-test-probe:${process.pid}`, '1', 'PX', 1_000)
  } catch (error) {
    throw new Error(
      `TEST_REDIS_URL (${redactUrl(url)}) is not usable: ${(socketError ?? (error as Error)).message}. ` +
        'Fix the URL, start that server, or unset TEST_REDIS_URL to let the tests start a private redis-server.',
      { cause: error },
    )
  } finally {
    client.disconnect()
  }
}
