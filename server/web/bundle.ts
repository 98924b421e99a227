import { createHash, randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { access, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The project root, the web app's sources and the files whose change calls for a new bundle. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const WEB_ROOT = join(PROJECT_ROOT, 'web')
const BUILD_INPUTS = [join(PROJECT_ROOT, 'package-lock.json'), fileURLToPath(import.meta.url)]

/** Where built bundles are kept between starts, one folder per fingerprint. */
const CACHE_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'yjs-collab-web')

export interface WebBuild {
  /** Folder holding `assets/` (hashed file names) and `index.html`. */
  dir: string
  /** The page, with the hashed asset names filled in. */
  indexHtml: string
  fingerprint: string
}

interface Manifest {
  fingerprint: string
  script: string
  style: string
}

/**
 * Bundles `web/` with esbuild unless a bundle of exactly these sources is already cached.
 *
 * Built on demand at run time rather than in an install script, so `npm ci && npm start` (and
 * `npm ci --omit=dev` in the image) need no extra command; the fingerprint (every file under web/,
 * the lockfile and this builder) makes a stale bundle impossible to serve.
 */
export async function buildWebApp(): Promise<WebBuild> {
  const fingerprint = await fingerprintSources()
  // A bundle built ahead (the Docker image builds one as root) is read even where we may not write.
  const prebuilt = join(CACHE_DIR, fingerprint)
  if (await readManifest(prebuilt)) return cachedBuild(prebuilt, fingerprint)
  const dir = join(await writableCacheDir(), fingerprint)
  if (await readManifest(dir)) return cachedBuild(dir, fingerprint)

  // Build beside the final folder and rename: two servers starting at once never see half a bundle.
  const staging = `${dir}.tmp-${randomBytes(6).toString('hex')}`
  try {
    const manifest = await bundleInto(staging, fingerprint)
    const indexHtml = await renderIndex(manifest)
    await writeFile(join(staging, 'index.html'), indexHtml)
    await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest))
    try {
      await rename(staging, dir)
    } catch (error) {
      // Another process finished the same build first: theirs is identical.
      if (!(await readManifest(dir))) throw error
    }
    await pruneOtherBuilds(dirname(dir), fingerprint)
    return { dir, fingerprint, indexHtml }
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

/** Bundles of other sources left for a day: a server still running older sources keeps its own. */
const PRUNE_AFTER_MS = 86_400_000

/** Deletes bundles of other sources that nobody built for a day, so the cache doesn't grow forever. */
async function pruneOtherBuilds(cacheDir: string, keep: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    if (name === keep) continue
    const path = join(cacheDir, name)
    const { mtimeMs } = await stat(path).catch(() => ({ mtimeMs: Date.now() }))
    if (Date.now() - mtimeMs > PRUNE_AFTER_MS) await rm(path, { recursive: true, force: true })
  }
}

async function cachedBuild(dir: string, fingerprint: string): Promise<WebBuild> {
  return { dir, fingerprint, indexHtml: await readFile(join(dir, 'index.html'), 'utf8') }
}

async function bundleInto(outdir: string, fingerprint: string): Promise<Manifest> {
  // Imported here: servers that never serve the app never load the bundler.
  const esbuild = await import('esbuild')
  const result = await esbuild.build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: { app: join(WEB_ROOT, 'src', 'main.tsx') },
    outdir: join(outdir, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'linked',
    tsconfig: join(WEB_ROOT, 'tsconfig.json'),
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  })
  const outputs = Object.entries(result.metafile.outputs)
  const entry = outputs.find(([, output]) => output.entryPoint !== undefined)
  if (!entry) throw new Error('esbuild produced no entry bundle for web/src/main.tsx')
  const [scriptPath, output] = entry
  if (!output.cssBundle) throw new Error('esbuild produced no stylesheet for web/src/main.tsx')
  const assetsDir = join(outdir, 'assets')
  return {
    fingerprint,
    script: relative(assetsDir, join(PROJECT_ROOT, scriptPath)),
    style: relative(assetsDir, join(PROJECT_ROOT, output.cssBundle)),
  }
}

async function renderIndex(manifest: Manifest): Promise<string> {
  const template = await readFile(join(WEB_ROOT, 'index.html'), 'utf8')
  const head =
    `<link rel="stylesheet" href="/assets/${manifest.style}">\n` +
    `    <script type="module" src="/assets/${manifest.script}"></script>`
  if (!template.includes('<!-- app:head -->')) throw new Error('web/index.html lacks the <!-- app:head --> marker')
  return template.replace('<!-- app:head -->', head)
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest
  } catch {
    return undefined
  }
}

async function fingerprintSources(): Promise<string> {
  const files = [...(await listFiles(WEB_ROOT)), ...BUILD_INPUTS].sort()
  const hash = createHash('sha256')
  for (const file of files) {
    hash.update(relative(PROJECT_ROOT, file)).update('\0')
    hash.update(await readFile(file)).update('\0')
  }
  return hash.digest('hex').slice(0, 20)
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
}

/**
 * node_modules/.cache when the installing user left it writable (it then survives restarts);
 * otherwise (a read-only image) a private, unguessable temporary folder for this process, never
 * a fixed path under /tmp that another local user could fill with a script of their own.
 */
async function writableCacheDir(): Promise<string> {
  try {
    await mkdir(CACHE_DIR, { recursive: true, mode: 0o700 })
    await access(CACHE_DIR, fsConstants.W_OK)
    return CACHE_DIR
  } catch {
    return mkdtemp(join(tmpdir(), 'yjs-collab-web-'))
  }
}
