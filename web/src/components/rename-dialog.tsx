import { useState } from 'preact/hooks'
import { messageOf } from '../api/errors.ts'
import { Dialog } from './dialog.tsx'

interface Props {
  title: string
  onRename: (title: string) => Promise<void>
  onClose: () => void
}

export function RenameDialog({ title, onRename, onClose }: Props) {
  const [value, setValue] = useState(title)
  const [error, setError] = useState<string>()
  async function submit(event: Event) {
    event.preventDefault()
    try {
      await onRename(value.trim())
    } catch (failure) {
      setError(messageOf(failure))
    }
  }
  return (
    <Dialog title="Rename document" onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <label>
          Title
          <input value={value} required maxLength={255} autofocus onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Save
          </button>
        </div>
      </form>
    </Dialog>
  )
}
