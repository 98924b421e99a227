import type { ComponentChildren } from 'preact'
import { useId, useLayoutEffect, useRef } from 'preact/hooks'

interface DialogProps {
  title: string
  onClose: () => void
  children: ComponentChildren
  /** Wider dialogs (history, share) get more room. */
  wide?: boolean
}

/**
 * A modal built on the native `<dialog>`: the browser traps focus inside it, closes it on Escape
 * and returns focus afterwards, so keyboard and screen-reader users get a real dialog for free.
 */
export function Dialog({ title, onClose, children, wide }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  // Layout effect: the opener is read, and focus given back, in the same turn as the render, before
  // anything else can move focus.
  useLayoutEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    const opener = document.activeElement as HTMLElement | null
    const openerLabel = opener?.getAttribute('aria-label')
    dialog.showModal()
    return () => {
      dialog.close()
      // The list behind the dialog may have re-rendered meanwhile and replaced the opener: fall
      // back to the control with the same accessible name.
      const target = opener?.isConnected
        ? opener
        : openerLabel
          ? document.querySelector<HTMLElement>(`[aria-label="${CSS.escape(openerLabel)}"]`)
          : null
      target?.focus()
    }
  }, [])
  return (
    <dialog
      ref={ref}
      class={wide ? 'dialog dialog--wide' : 'dialog'}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault()
        onClose()
      }}
    >
      <header class="dialog__header">
        <h2 id={titleId}>{title}</h2>
        <button type="button" class="icon-button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      <div class="dialog__body">{children}</div>
    </dialog>
  )
}

interface ConfirmProps {
  title: string
  message: string
  confirmLabel: string
  onConfirm: () => Promise<void> | void
  onClose: () => void
}

/** "Are you sure?" for destructive actions; Cancel has the focus, so Enter never destroys by accident. */
export function ConfirmDialog({ title, message, confirmLabel, onConfirm, onClose }: ConfirmProps) {
  return (
    <Dialog title={title} onClose={onClose}>
      <p>{message}</p>
      <div class="actions">
        <button type="button" autofocus onClick={onClose}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={() => void onConfirm()}>
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  )
}
