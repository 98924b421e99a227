const started = performance.now()

/** A progress line on stderr, prefixed with the time since the run started. */
export function log(text: string): void {
  const s = (performance.now() - started) / 1000
  const stamp = `${String(Math.floor(s / 60)).padStart(2, '0')}:${(s % 60).toFixed(1).padStart(4, '0')}`
  process.stderr.write(`[bench ${stamp}] ${text}\n`)
}
