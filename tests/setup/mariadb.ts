import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createConnection } from 'mysql2/promise'
import { EXTRA_BIN_DIRS, findExecutable, findOrInstall } from './system-binaries.ts'

/**
 * A throwaway MariaDB server started from the local `mariadbd` binary for the test run: its own
 * datadir in a temp folder, its own port on 127.0.0.1, no systemd, no config files
 * (`--no-defaults`), so it never touches a system MySQL/MariaDB.
 */
export interface PrivateMariadb {
  /** `mysql://collab:collab@127.0.0.1:<port>/`: a user with ALL on *.*, no database selected. */
  readonly url: string
  readonly port: number
  readonly pid: number
  /** SIGTERM, wait for the exit (SIGKILL after `timeoutMs`), then remove the temp folder. */
  stop(timeoutMs?: number): Promise<void>
}

const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 15_000
const TEST_USER = 'collab'
const TEST_PASSWORD = 'collab'
/** A unix socket path longer than this fails to bind (sun_path is 108 bytes on Linux). */
const MAX_SOCKET_PATH = 100

/** Runs a command quietly; its combined output goes into the error when it fails. */
function runQuiet(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (code === 0) resolve()
      else reject(new Error(`${command} failed with ${signal ?? `exit code ${code}`}:\n${output.trim()}`))
    })
  })
}

const HOW_TO_GET_MYSQL =
  'To run the MySQL suite, either set TEST_MYSQL_URL=mysql://user:pass@host:3306/ (a user allowed to ' +
  'CREATE and DROP DATABASE), or install MariaDB locally (Debian/Ubuntu: ' +
  '`apt-get install mariadb-server`; nothing needs to be running, the tests start their own ' +
  'server), or run only the SQLite suite with TEST_DATABASES=sqlite.'

/**
 * Finds `mariadbd`; when it is missing and we are root, installs `mariadb-server` with apt
 * (the Debian package does not start the service without systemd, so this only adds binaries).
 * Throws with instructions when there is still no server binary.
 */
export async function ensureMariadbBinaries(): Promise<{ mariadbd: string; installDb: string }> {
  const { path: mariadbd, note: installNote } = await findOrInstall({
    label: 'mysql',
    names: ['mariadbd', 'mysqld'],
    packages: ['mariadb-server'],
    howTo: HOW_TO_GET_MYSQL,
  })
  if (!mariadbd) {
    throw new Error(
      'The MySQL test suite needs a MySQL/MariaDB server, but no `mariadbd` binary was found ' +
        `(looked in PATH and ${EXTRA_BIN_DIRS.join(', ')}), and ${installNote}. ${HOW_TO_GET_MYSQL}`,
    )
  }
  const installDb = await findExecutable('mariadb-install-db', 'mysql_install_db')
  if (!installDb) {
    throw new Error(`Found ${mariadbd} but not mariadb-install-db next to it. ${HOW_TO_GET_MYSQL}`)
  }
  return { mariadbd, installDb }
}

/** A port that was free a moment ago on 127.0.0.1 (the server may still lose a race for it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port)
        else reject(new Error('could not determine a free port'))
      })
    })
  })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Sends SIGTERM and waits until the process is gone; SIGKILL after `timeoutMs`. `child` lets us use
 * its `exit` event: a child we spawned stays a zombie (still "alive" to kill -0) until Node reaps it.
 */
export async function stopProcess(
  pid: number,
  child?: ChildProcess,
  timeoutMs = STOP_TIMEOUT_MS,
): Promise<void> {
  const exited = () => (child ? child.exitCode !== null || child.signalCode !== null : !isAlive(pid))
  if (exited()) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return // already gone
  }
  const deadline = Date.now() + timeoutMs
  while (!exited()) {
    if (Date.now() > deadline) {
      process.stderr.write(
        `[mysql setup] mariadbd (pid ${pid}) ignored SIGTERM for ${timeoutMs} ms; sending SIGKILL\n`,
      )
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        return
      }
      const killDeadline = Date.now() + 5_000
      while (!exited() && Date.now() < killDeadline) await sleep(50)
      return
    }
    await sleep(50)
  }
}

async function readLog(file: string): Promise<string> {
  try {
    const text = await readFile(file, 'utf8')
    return text.trim().split('\n').slice(-40).join('\n')
  } catch {
    return '(no error log was written)'
  }
}

function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`
}

/** A base folder short enough for a unix socket path inside it. */
function baseTempDir(): string {
  const dir = tmpdir()
  return dir.length + 40 <= MAX_SOCKET_PATH ? dir : '/tmp'
}

/**
 * Creates a fresh datadir in a temp folder, starts `mariadbd` on a free port and creates the
 * `collab`/`collab` user with ALL on *.* (each test file creates and drops its own database).
 * On any failure it stops what it started and removes the folder before throwing.
 */
export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const { mariadbd, installDb } = await ensureMariadbBinaries()
  const dir = await mkdtemp(join(baseTempDir(), 'collab-mariadb-'))
  const dataDir = join(dir, 'data')
  const socket = join(dir, 'mysqld.sock')
  const errorLog = join(dir, 'error.log')
  // mariadbd refuses to run as root unless told to; as another user it runs as that user.
  const userArgs = process.getuid?.() === 0 ? ['--user=root'] : []
  try {
    await mkdir(dataDir)
    const initStarted = Date.now()
    await runQuiet(installDb, [
      '--no-defaults',
      `--datadir=${dataDir}`,
      ...userArgs,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ])
    process.stderr.write(`[mysql setup] initialised a private datadir in ${elapsed(initStarted)} (${dir})\n`)

    // The free port can be taken between our probe and mariadbd's bind; try a few ports.
    let lastError: Error | undefined
    for (let attempt = 1; attempt <= 3; attempt++) {
      const port = await freePort()
      const started = Date.now()
      const child = spawn(
        mariadbd,
        [
          '--no-defaults',
          `--datadir=${dataDir}`,
          `--socket=${socket}`,
          `--pid-file=${join(dir, 'mysqld.pid')}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          ...userArgs,
          '--skip-name-resolve',
          '--max-allowed-packet=64M',
          `--log-error=${errorLog}`,
        ],
        { detached: true, stdio: 'ignore' },
      )
      child.unref()
      const pid = child.pid
      if (pid === undefined) {
        lastError = await new Promise<Error>((resolve) => child.once('error', resolve))
        break
      }
      // Safety net for an exit without teardown (Ctrl-C, a crash): exit handlers must be synchronous,
      // so kill hard (the data is throwaway) and remove the folder rather than leave 100+ MB behind.
      const killOnExit = () => {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
        rmSync(dir, { recursive: true, force: true, maxRetries: 5 })
      }
      process.once('exit', killOnExit)
      const stop = async (timeoutMs = STOP_TIMEOUT_MS) => {
        const stopStarted = Date.now()
        await stopProcess(pid, child, timeoutMs)
        process.removeListener('exit', killOnExit)
        await rm(dir, { recursive: true, force: true })
        process.stderr.write(`[mysql setup] stopped the private MariaDB in ${elapsed(stopStarted)}\n`)
      }
      try {
        await waitUntilReady(socket, child, errorLog)
        await createTestUser(socket)
      } catch (error) {
        await stopProcess(pid, child)
        process.removeListener('exit', killOnExit)
        lastError = error as Error
        const log = await readLog(errorLog)
        if (/already in use|Can't start server: Bind/i.test(log) && attempt < 3) continue
        break
      }
      process.stderr.write(
        `[mysql setup] private MariaDB ready on 127.0.0.1:${port} in ${elapsed(started)}\n`,
      )
      const url = `mysql://${TEST_USER}:${TEST_PASSWORD}@127.0.0.1:${port}/`
      return { url, port, pid, stop }
    }
    throw lastError ?? new Error('mariadbd did not start')
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

/** Polls a root login over the unix socket until it works, the server exits, or 30 s pass. */
async function waitUntilReady(socket: string, child: ChildProcess, errorLog: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  let lastError: unknown
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `mariadbd exited during startup (${child.signalCode ?? `exit code ${child.exitCode}`}). ` +
          `Its error log:\n${await readLog(errorLog)}`,
      )
    }
    try {
      const connection = await createConnection({ socketPath: socket, user: 'root', connectTimeout: 2_000 })
      await connection.query('SELECT 1')
      await connection.end()
      return
    } catch (error) {
      lastError = error
      await sleep(100)
    }
  }
  throw new Error(
    `mariadbd did not accept connections within ${START_TIMEOUT_MS / 1000} s ` +
      `(last error: ${(lastError as Error | undefined)?.message ?? 'none'}). Its error log:\n${await readLog(errorLog)}`,
  )
}

async function createTestUser(socket: string): Promise<void> {
  const connection = await createConnection({ socketPath: socket, user: 'root', connectTimeout: 5_000 })
  try {
    // '%' matches TCP logins from 127.0.0.1 (the server runs with --skip-name-resolve).
    await connection.query(`CREATE USER '${TEST_USER}'@'%' IDENTIFIED BY '${TEST_PASSWORD}'`)
    await connection.query(`GRANT ALL ON *.* TO '${TEST_USER}'@'%'`)
  } finally {
    await connection.end()
  }
}

/** The URL with its password masked, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparseable URL)'
  }
}

/**
 * Checks that an externally provided server is reachable and that its user may create and drop
 * databases (the tests create one database per test file). Throws a readable error otherwise.
 */
export async function checkMysqlUrl(url: string): Promise<void> {
  let connection: Awaited<ReturnType<typeof createConnection>> | undefined
  const probe = `collab_probe_${process.pid}_${Date.now()}`
  try {
    connection = await createConnection({ uri: url, connectTimeout: 10_000 })
    await connection.query('SELECT 1')
  } catch (error) {
    await connection?.end().catch(() => {})
    throw new Error(
      `TEST_MYSQL_URL (${redactUrl(url)}) is not reachable: ${(error as Error).message}. ` +
        'Fix the URL, start that server, or unset TEST_MYSQL_URL to let the tests start a private MariaDB.',
      { cause: error },
    )
  }
  try {
    await connection.query(`CREATE DATABASE \`${probe}\``)
    await connection.query(`DROP DATABASE \`${probe}\``)
  } catch (error) {
    throw new Error(
      `TEST_MYSQL_URL (${redactUrl(url)}) connects, but its user cannot CREATE/DROP DATABASE ` +
        `(${(error as Error).message}); the tests create one database per test file. ` +
        "Grant it, e.g. GRANT ALL ON *.* TO 'user'@'%'.",
      { cause: error },
    )
  } finally {
    await connection.end().catch(() => {})
  }
}
