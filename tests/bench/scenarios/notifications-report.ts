import { pct } from '../lib/machine.ts'
import { inboxTotals, type NotificationsReport, type NotificationsRun, SLOW_MS } from './notifications.ts'

/** Tables of the notifications scenario (scenario 5) and its goals. */
const fixed = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '–')
const met = (ok: boolean) => (ok ? 'met' : '**missed**')

export function renderNotifications(r: NotificationsReport): string {
  const c = r.config
  const { on, off } = r.runs
  if (!on && !off) return '### 5. Notifications — not run (needs target ours)'
  const lines = [
    `### 5. Notifications — a document shared with ${c.collaborators} collaborators; ${c.editors} type ` +
      `${c.keystrokesPerSecond} keystrokes/s each for ${c.seconds} s, in turns ${r.order.join(', ')} ` +
      `(default store debounce); ${c.readers} read their inbox every ${c.readEverySeconds} s, the rest leave it unread; ` +
      `${c.watchers} watchers; live streams open for ${c.editors + c.watchers + c.readers}; webhooks and SMTP to local sinks`,
    '',
    '| measure | notifications on | off | ratio | goal |',
    '|---|---:|---:|---:|---|',
  ]
  const row = (label: string, value: (run: NotificationsRun) => string, ratio = '', goal = '') =>
    lines.push(`| ${label} | ${on ? value(on) : '–'} | ${off ? value(off) : '–'} | ${ratio} | ${goal} |`)
  const perRow = (run: NotificationsRun, n: number) => fixed(n / Math.max(1, run.counts.storedRows), 1)
  row('stored log rows (update-log stores) / notifier passes', (run) => `${run.counts.storedRows} / ${run.counts.passes.length}`)
  row('first pass: inbox rows created (nobody had an item yet)', (run) => String(run.counts.passes[0]?.inserted ?? 0))
  if (on) {
    const later = inboxTotals(on.counts, true)
    const perPass = (n: number) => fixed(n / Math.max(1, later.passes), 1)
    lines.push(
      `| later passes (${later.passes}): inbox rows created per pass | ${perPass(later.inserted)} | – | | |`,
      `| … recipients whose item was read since, per pass | ${perPass(later.readBefore)} | – | ` +
        `${later.readBefore > 0 ? `${fixed(later.inserted / later.readBefore)}×` : '–'} | ` +
        `created ≤ read in every pass: ${met(inboxTotals(on.counts).over === 0)} |`,
      `| … unread items coalesced (UPDATE, no new row), per pass | ${perPass(later.updated)} | – | | |`,
    )
  }
  row('most inbox writes to one recipient in one pass', (run) => String(inboxTotals(run.counts).maxWrites))
  row('inbox rows written (created + coalesced) per stored row', (run) => {
    const all = inboxTotals(run.counts)
    return perRow(run, all.inserted + all.updated)
  })
  row('stream log rows (`notification_events`) per stored row', (run) => perRow(run, run.counts.streamEvents))
  row('outbox rows per stored row', (run) => perRow(run, run.counts.outboxRows))
  row('… by type', (run) => Object.entries(run.counts.outbox).map(([k, v]) => `${k} ${v}`).join(', ') || '–')
  row(
    'fan-out p50 / p99 ms (keystroke → other editors and watchers)',
    (run) => `${fixed(run.latency.p50, 1)} / ${fixed(run.latency.p99, 1)}`,
    r.p99Ratio === undefined ? '' : `${fixed(r.p99Ratio)}×`,
    r.p99Ratio === undefined ? '' : `p99 ≤ 1.1×: ${met(r.p99Ratio <= 1.1)}`,
  )
  row('… (keystroke, receiver) pairs / missing / max ms', (run) => `${run.latency.count} / ${run.missing} / ${fixed(run.latency.max, 1)}`)
  row(`… pairs slower than ${SLOW_MS} ms / of them typed ≤ 2.5 s after a store / slowest (ms after its store)`, (run) => {
    const { count, afterStore, worst } = run.slow
    return `${count} / ${afterStore} / ${worst ? `${fixed(worst.ms, 0)} (${Number.isFinite(worst.afterStoreMs) ? fixed(worst.afterStoreMs, 0) : '–'})` : '–'}`
  })
  row('server CPU while typing, ms per keystroke', (run) => fixed(run.serverCpuMs / Math.max(1, run.keystrokes)))
  row('store → `document.edited` on a live stream, p50 / p99 ms', (run) =>
    run.storeToStream.count > 0 ? `${fixed(run.storeToStream.p50, 0)} / ${fixed(run.storeToStream.p99, 0)} (${run.storeToStream.count})` : '–',
  )
  row('webhooks about the edits delivered (document.updated / notification.created)', (run) => {
    const w = run.webhooks
    return `${w['document.updated'] ?? 0} / ${w['notification.created (document.edited)'] ?? 0}${run.outboxPending ? `, ${run.outboxPending} pending` : ''}`
  })
  row('other work on the machine before each stretch', (run) => run.backgroundCpu.map(pct).join(', '))
  return lines.join('\n')
}

/** The issue's two notification goals, for the run's goal table. */
export function notificationsGoals(r: NotificationsReport | undefined): { goal: string; met: boolean | undefined; detail: string }[] {
  if (!r || (!r.runs.on && !r.runs.off)) return []
  const inbox = r.runs.on && inboxTotals(r.runs.on.counts)
  return [
    {
      goal: 'notifications: new inbox rows per store ≤ recipients whose item was read (unread items coalesce)',
      met: inbox ? inbox.over === 0 : undefined,
      detail: inbox
        ? `${inbox.inserted} created for ${inbox.readBefore} read or new, ${inbox.updated} coalesced; ${inbox.over} of ${inbox.passes} passes over`
        : 'not measured',
    },
    {
      goal: 'notifications: fan-out p99 with notifications ≤ 1.1× without',
      met: r.p99Ratio === undefined ? undefined : r.p99Ratio <= 1.1,
      detail: r.p99Ratio === undefined ? 'not measured' : `${fixed(r.p99Ratio)}×`,
    },
  ]
}
