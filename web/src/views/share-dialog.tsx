import type { ComponentChildren } from 'preact'
import { useEffect, useId, useState } from 'preact/hooks'
import type { CollaboratorDto, InvitationDto, ShareLinkDto } from '../../../shared/api/sharing.ts'
import type { ApiClient } from '../api/client.ts'
import { messageOf } from '../api/errors.ts'
import { Dialog } from '../components/dialog.tsx'
import { formatDate } from '../format.ts'
import { documentHref } from '../router.ts'

interface Props {
  api: ApiClient
  documentId: string
  onClose: () => void
}

type GrantableRole = 'editor' | 'viewer'

const EXPIRY_CHOICES = [
  { label: 'Never', days: 0 },
  { label: '1 day', days: 1 },
  { label: '7 days', days: 7 },
  { label: '30 days', days: 30 },
] as const

/** The owner's sharing controls: people by email with a role, and share links with a role and expiry. */
export function ShareDialog({ api, documentId, onClose }: Props) {
  const base = `/documents/${encodeURIComponent(documentId)}`
  const [people, setPeople] = useState<CollaboratorDto[]>([])
  const [invitations, setInvitations] = useState<InvitationDto[]>([])
  const [links, setLinks] = useState<ShareLinkDto[]>([])
  const [error, setError] = useState<string>()
  const [message, setMessage] = useState<string>()
  const [newLink, setNewLink] = useState<string>()

  async function reload() {
    try {
      const [collaborators, shareLinks] = await Promise.all([
        api.get<{ items: CollaboratorDto[]; invitations?: InvitationDto[] }>(`${base}/collaborators`),
        api.get<{ items: ShareLinkDto[] }>(`${base}/share-links`),
      ])
      setPeople(collaborators.items)
      setInvitations(collaborators.invitations ?? [])
      setLinks(shareLinks.items)
    } catch (failure) {
      setError(messageOf(failure))
    }
  }
  useEffect(() => void reload(), [])

  /** Runs a change, shows what went wrong if it failed, and reloads the lists. */
  async function act(change: () => Promise<unknown>, done?: string) {
    setError(undefined)
    setMessage(undefined)
    try {
      await change()
      if (done) setMessage(done)
    } catch (failure) {
      setError(messageOf(failure))
    }
    await reload()
  }

  async function invite(event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const email = String(data.get('email') ?? '').trim()
    const role = String(data.get('role')) as GrantableRole
    await act(async () => {
      await api.post(`${base}/collaborators`, { email, role })
      form.reset()
    }, `Invited ${email} as ${role}. People with an account get access at once; others when they sign up.`)
  }

  async function createLink(event: Event) {
    event.preventDefault()
    const data = new FormData(event.currentTarget as HTMLFormElement)
    const role = String(data.get('linkRole')) as GrantableRole
    const days = Number(data.get('expires'))
    const expiresAt = days > 0 ? new Date(Date.now() + days * 86_400_000).toISOString() : undefined
    await act(async () => {
      const link = await api.post<ShareLinkDto>(`${base}/share-links`, { role, ...(expiresAt ? { expiresAt } : {}) })
      setNewLink(`${location.origin}/${documentHref(documentId, link.token)}`)
    })
  }

  return (
    <Dialog title="Share" onClose={onClose} wide>
      <div class="stack">
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {message && <p class="info">{message}</p>}

        <form class="row" onSubmit={invite} aria-label="Invite people">
          <label>
            Email
            <input name="email" type="email" required maxLength={320} autocomplete="off" autofocus />
          </label>
          <Field label="Role">{(id) => <RoleSelect id={id} name="role" />}</Field>
          <button type="submit" class="primary">
            Invite
          </button>
        </form>

        <section aria-labelledby="share-people">
          <h3 id="share-people">People with access</h3>
          <ul class="panel-list" aria-label="People with access">
            {people.map((person) => (
              <li key={person.userId} class="panel-item row" aria-label={person.name}>
                <span class="grow">
                  <strong>{person.name}</strong> <span class="muted">{person.email}</span>
                </span>
                {person.role === 'owner' ? (
                  <span class="muted">Owner</span>
                ) : (
                  <>
                    <RoleSelect
                      label={`Role for ${person.name}`}
                      value={person.role}
                      onChange={(role) =>
                        void act(() => api.put(`${base}/collaborators/${encodeURIComponent(person.userId)}`, { role }))
                      }
                    />
                    <button
                      type="button"
                      class="danger"
                      aria-label={`Remove ${person.name}`}
                      onClick={() =>
                        void act(() => api.delete(`${base}/collaborators/${encodeURIComponent(person.userId)}`))
                      }
                    >
                      Remove
                    </button>
                  </>
                )}
              </li>
            ))}
            {invitations.map((invitation) => (
              <li key={invitation.id} class="panel-item row" aria-label={invitation.email}>
                <span class="grow">
                  {invitation.email} <span class="muted">invited as {invitation.role}, waiting for sign-up</span>
                </span>
                <button
                  type="button"
                  class="danger"
                  aria-label={`Cancel invitation for ${invitation.email}`}
                  onClick={() => void act(() => api.delete(`${base}/invitations/${encodeURIComponent(invitation.id)}`))}
                >
                  Cancel invitation
                </button>
              </li>
            ))}
          </ul>
        </section>

        <section aria-labelledby="share-links" class="stack">
          <h3 id="share-links">Share links</h3>
          <p class="muted">Anyone with a link can open the document without an account, with the link's role.</p>
          <form class="row" onSubmit={createLink} aria-label="Create a share link">
            <Field label="Link role">{(id) => <RoleSelect id={id} name="linkRole" />}</Field>
            <Field label="Expires">
              {(id) => (
                <select id={id} name="expires">
                  {EXPIRY_CHOICES.map((choice) => (
                    <option key={choice.days} value={choice.days}>
                      {choice.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <button type="submit">Create link</button>
          </form>
          {newLink && <CopyField value={newLink} />}
          <ul class="panel-list" aria-label="Share links">
            {links.map((link) => {
              const name = `${capitalize(link.role)} link created ${formatDate(link.createdAt)}`
              return (
                <li key={link.id} class="panel-item row" aria-label={name}>
                  <span class="grow">
                    {name}
                    <span class="muted">
                      {' · '}
                      {link.expiresAt ? `expires ${formatDate(link.expiresAt)}` : 'never expires'}
                    </span>
                  </span>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Revoke ${name}`}
                    onClick={() =>
                      void act(async () => {
                        await api.delete(`${base}/share-links/${encodeURIComponent(link.id)}`)
                        setNewLink(undefined)
                      }, 'Link revoked: anyone using it has been disconnected.')
                    }
                  >
                    Revoke
                  </button>
                </li>
              )
            })}
          </ul>
        </section>
      </div>
    </Dialog>
  )
}

/**
 * A label tied to its control by id rather than by wrapping: a wrapped `<select>` would add its
 * chosen option to the label's accessible name ("Role Editor").
 */
function Field({ label, children }: { label: string; children: (id: string) => ComponentChildren }) {
  const id = useId()
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children(id)}
    </div>
  )
}

function RoleSelect(props: {
  id?: string
  name?: string
  label?: string
  value?: string
  onChange?: (role: GrantableRole) => void
}) {
  return (
    <select
      id={props.id}
      name={props.name}
      aria-label={props.label}
      value={props.value ?? 'editor'}
      onChange={(event) => props.onChange?.(event.currentTarget.value as GrantableRole)}
    >
      <option value="editor">Editor</option>
      <option value="viewer">Viewer</option>
    </select>
  )
}

/** The new link (its token is shown only now) with a Copy button. */
function CopyField({ value }: { value: string }) {
  const [copied, setCopied] = useState<string>()
  async function copy(event: Event) {
    const input = (event.currentTarget as HTMLElement).parentElement?.querySelector('input')
    try {
      await navigator.clipboard.writeText(value)
      setCopied('Copied to the clipboard.')
    } catch {
      // No clipboard permission (an embedded or insecure page): leave it selected for Ctrl+C.
      input?.select()
      setCopied('Selected: press Ctrl+C (⌘C) to copy.')
    }
  }
  return (
    <div class="row">
      <label class="grow">
        Share link (shown once)
        <input readOnly value={value} onFocus={(event) => event.currentTarget.select()} />
      </label>
      <button type="button" onClick={(event) => void copy(event)}>
        Copy
      </button>
      {copied && (
        <span role="status" class="muted">
          {copied}
        </span>
      )}
    </div>
  )
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
