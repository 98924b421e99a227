const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** "2 minutes ago" for recent times, a date beyond a week. */
export function formatTime(iso: string): string {
  const time = Date.parse(iso)
  const seconds = Math.round((time - Date.now()) / 1000)
  const abs = Math.abs(seconds)
  if (abs < 45) return 'just now'
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute')
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), 'hour')
  if (abs < 7 * 86_400) return relative.format(Math.round(seconds / 86_400), 'day')
  return absolute.format(time)
}

export function formatDate(iso: string): string {
  return absolute.format(Date.parse(iso))
}
