import { useEffect, useState } from 'preact/hooks'
import type { SubscriptionDto } from '../../../shared/api/notifications.ts'
import type { ApiClient } from '../api/client.ts'
import { reportError } from '../components/notices.tsx'

/** Per-document mute: no inbox items, emails or stream events about this document while pressed. */
export function MuteButton({ api, documentId }: { api: ApiClient; documentId: string }) {
  const path = `/documents/${encodeURIComponent(documentId)}/subscription`
  const [muted, setMuted] = useState<boolean>()
  useEffect(() => {
    api.get<SubscriptionDto>(path).then(
      (subscription) => setMuted(subscription.muted),
      () => setMuted(undefined),
    )
  }, [documentId])
  if (muted === undefined) return null
  return (
    <button
      type="button"
      aria-pressed={muted}
      onClick={async () => {
        try {
          setMuted((await api.put<SubscriptionDto>(path, { muted: !muted })).muted)
        } catch (failure) {
          reportError(failure)
        }
      }}
    >
      Mute notifications
    </button>
  )
}
