import type { NotificationType } from '../db/schema.ts'

/** A rendered email, text and HTML. */
export interface EmailMessage {
  to: string
  subject: string
  text: string
  html: string
}

/** One line of a digest: an unread inbox item. */
export interface DigestLine {
  type: NotificationType
  documentId: string | null
  documentTitle: string
  actors: readonly { id: string; name: string }[]
  count: number
}

export function documentLink(publicUrl: string, documentId: string): string {
  return `${publicUrl}/#/d/${encodeURIComponent(documentId)}`
}

/** The digest of a user's unread items. */
export function digestEmail(to: { email: string; name: string }, lines: readonly DigestLine[], publicUrl: string): EmailMessage {
  const subject =
    lines.length === 1 ? `${sentence(lines[0]!)}` : `${lines.length} documents have news for you`
  const entries = lines.map((line) => ({
    line: sentence(line),
    link: linkable(line) && line.documentId ? documentLink(publicUrl, line.documentId) : undefined,
  }))
  const text = [
    `Hi ${to.name},`,
    '',
    'Here is what happened while you were away:',
    '',
    ...entries.map(({ line, link }) => (link ? `- ${line}\n  ${link}` : `- ${line}`)),
    '',
    `Open your inbox: ${publicUrl}/#/notifications`,
    'You get this digest because email notifications are on; turn them off in your notification settings.',
    '',
  ].join('\n')
  const html = page(
    subject,
    `<p>Hi ${escapeHtml(to.name)},</p>
<p>Here is what happened while you were away:</p>
<ul>
${entries.map(({ line, link }) => `<li>${link ? `<a href="${escapeHtml(link)}">${escapeHtml(line)}</a>` : escapeHtml(line)}</li>`).join('\n')}
</ul>
<p><a href="${escapeHtml(publicUrl)}/#/notifications">Open your inbox</a></p>
<p style="color:#666;font-size:12px">You get this digest because email notifications are on; turn them off in your notification settings.</p>`,
  )
  return { to: to.email, subject, text, html }
}

/** An invitation to someone with no account yet. */
export function invitationEmail(
  invitation: { email: string; documentId: string; documentTitle: string; inviterName: string; role: string },
  publicUrl: string,
): EmailMessage {
  const { inviterName, documentTitle, role } = invitation
  const subject = `${inviterName} invited you to “${documentTitle}”`
  const link = documentLink(publicUrl, invitation.documentId)
  const body = `${inviterName} invited you to ${role === 'editor' ? 'edit' : 'view'} “${documentTitle}”.`
  const signUp = `Sign up with this email address (${invitation.email}) to open it.`
  const text = [body, signUp, '', link, ''].join('\n')
  const html = page(
    subject,
    `<p>${escapeHtml(body)}</p>
<p>${escapeHtml(signUp)}</p>
<p><a href="${escapeHtml(link)}">Open “${escapeHtml(documentTitle)}”</a></p>`,
  )
  return { to: invitation.email, subject, text, html }
}

function sentence(line: DigestLine): string {
  const who = names(line.actors)
  const title = `“${line.documentTitle}”`
  switch (line.type) {
    case 'document.edited':
      return `${who} edited ${title} (${line.count} ${line.count === 1 ? 'edit' : 'edits'})`
    case 'document.shared':
      return `${who} shared ${title} with you`
    case 'document.restored':
      return `${who} restored an earlier version of ${title}`
    case 'document.deleted':
      return `${who} deleted ${title}`
    case 'document.unshared':
      return `You no longer have access to ${title}`
  }
}

/** Items about a document one can no longer open carry no link. */
function linkable(line: DigestLine): boolean {
  return line.type !== 'document.deleted' && line.type !== 'document.unshared'
}

function names(actors: readonly { name: string }[]): string {
  const [first, second, ...rest] = actors.map((a) => a.name)
  if (!first) return 'Someone'
  if (!second) return first
  if (rest.length === 0) return `${first} and ${second}`
  return `${first}, ${second} and ${rest.length} ${rest.length === 1 ? 'other' : 'others'}`
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:sans-serif;line-height:1.5">
${body}
</body></html>
`
}

// Five characters are all HTML text and double-quoted attributes need; not worth a dependency.
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
