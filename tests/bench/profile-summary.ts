import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

/**
 * `npx node tests/bench/profile-summary.ts FILE.cpuprofile [TOP]`: where a server's CPU went, from a
 * V8 profile written by `npm run bench -- --prof`. Prints self time by function and by package.
 */
interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const [file, topArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: profile-summary.ts FILE.cpuprofile [TOP]')
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const selfUs = new Map<number, number>()
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)

function where(url: string): string {
  if (!url) return '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]!
  if (url.startsWith('node:')) return 'node'
  const project = /\/(server|shared|tests)\/(.*)$/.exec(url)
  return project ? `${project[1]}/${project[2]}` : basename(url)
}

const keyOf = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame
  return `${functionName || '(anonymous)'}  ${where(url)}${url ? `:${lineNumber + 1}` : ''}`
}

const byFunction = new Map<string, number>()
const byPackage = new Map<string, number>()
for (const [id, us] of selfUs) {
  const { url } = byId.get(id)!.callFrame
  const key = keyOf(byId.get(id)!)
  byFunction.set(key, (byFunction.get(key) ?? 0) + us)
  byPackage.set(where(url), (byPackage.get(where(url)) ?? 0) + us)
}

const print = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [key, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const share = ((100 * us) / total).toFixed(1).padStart(5)
    console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${share}%  ${key}`)
  }
}
// Inclusive time: a sample counts once for every distinct function on its stack.
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
const inclusive = new Map<string, number>()
for (const [id, us] of selfUs) {
  const seen = new Set<string>()
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const key = keyOf(byId.get(at)!)
    if (seen.has(key)) continue
    seen.add(key)
    inclusive.set(key, (inclusive.get(key) ?? 0) + us)
  }
}

console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`)
print('self time by package', byPackage)
print('self time by function', byFunction)
print('inclusive time by function', inclusive)
