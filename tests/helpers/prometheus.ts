import { expect } from 'vitest'
import { api } from './api.ts'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  /** `# TYPE` of each metric family. */
  types: Map<string, string>
  samples: Sample[]
  /** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
  value(name: string, labels?: Record<string, string>): number | undefined
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`
// Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes `Nan`).
const VALUE = '(?:[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)|[+-]?[Ii][Nn][Ff]|[Nn][Aa][Nn])'
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*,?)?\\})? (${VALUE})(?: -?\\d+)?$`)
const HELP_LINE = new RegExp(`^# HELP ${NAME} .*$`)
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)

/**
 * Parses the Prometheus text exposition format (0.0.4) strictly: every line must be a sample, a
 * HELP or TYPE comment, or blank; anything else fails the test with the line.
 */
export function parsePrometheus(text: string): Exposition {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || HELP_LINE.test(line)) continue
    const type = TYPE_LINE.exec(line)
    if (type) {
      expect(types.has(type[1]!), `TYPE given twice: ${line}`).toBe(false)
      types.set(type[1]!, type[2]!)
      continue
    }
    const sample = SAMPLE_LINE.exec(line)
    expect(sample, `not Prometheus text: ${JSON.stringify(line)}`).not.toBeNull()
    const labels: Record<string, string> = {}
    for (const [, key, raw] of (sample![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = raw!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1')
    }
    const raw = sample![3]!
    const special = raw.toLowerCase().replace(/^\+/, '')
    const value = special === 'inf' ? Infinity : special === '-inf' ? -Infinity : special === 'nan' ? NaN : Number(raw)
    samples.push({ name: sample![1]!, labels, value })
  }
  return {
    types,
    samples,
    value(name, labels = {}) {
      const matching = samples.filter(
        (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
      )
      expect(matching.length, `more than one sample of ${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1)
      return matching[0]?.value
    },
  }
}

/** `GET /metrics`, checked to be Prometheus text, parsed. */
export async function scrape(server: { url: string }, token?: string): Promise<Exposition> {
  const response = await api(server, 'GET', '//metrics', { token })
  expect(response.status).toBe(200)
  expect(response.type).toMatch(/^text\/plain; version=0\.0\.4/)
  return parsePrometheus(response.body.toString())
}
