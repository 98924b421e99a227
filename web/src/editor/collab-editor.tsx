import { Editor } from '@tiptap/core'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import StarterKit from '@tiptap/starter-kit'
import { useEffect, useRef } from 'preact/hooks'
import type { DocumentConnection } from './connection.ts'

interface Props {
  connection: DocumentConnection
  editable: boolean
  /** The accessible name of the text box. */
  label: string
  user: { name: string; color: string }
}

/**
 * Someone else's caret: a named image to assistive technology, its visible label drawn by CSS from
 * `data-name`, so the name never becomes part of the document's text (copying, textContent).
 * Colours go through the CSSOM, which the page's CSP allows.
 */
function renderCaret(user: Record<string, unknown>): HTMLElement {
  const name = typeof user.name === 'string' ? user.name : 'Someone'
  const color = typeof user.color === 'string' ? user.color : '#1971c2'
  const caret = document.createElement('span')
  caret.className = 'collaboration-carets__caret'
  caret.setAttribute('role', 'img')
  caret.setAttribute('aria-label', `${name}’s cursor`)
  caret.style.borderColor = color
  const label = document.createElement('span')
  label.className = 'collaboration-carets__label'
  label.dataset.name = name
  label.style.backgroundColor = color
  caret.append(label)
  return caret
}

/**
 * Tiptap over the shared Y.Doc: StarterKit without its own undo history (Yjs owns the document),
 * Collaboration on the `default` fragment (the root the server renders as text, diffs and history)
 * and live carets.
 */
export function CollabEditor({ connection, editable, label, user }: Props) {
  const host = useRef<HTMLDivElement>(null)
  const editorRef = useRef<Editor | undefined>(undefined)

  useEffect(() => {
    if (!host.current) return
    const editor = new Editor({
      element: host.current,
      // Its <style> element would need 'unsafe-inline' in the CSP; its rules are in styles.css.
      injectCSS: false,
      editable,
      extensions: [
        StarterKit.configure({ undoRedo: false }),
        Collaboration.configure({ document: connection.doc, field: 'default' }),
        CollaborationCaret.configure({
          provider: connection.provider,
          user,
          render: renderCaret,
          // The default sets a style attribute (blocked by our CSP); carets keep their colours.
          selectionRender: () => ({ class: 'collaboration-carets__selection' }),
        }),
      ],
      editorProps: {
        attributes: {
          role: 'textbox',
          'aria-multiline': 'true',
          'aria-label': label,
          'aria-readonly': String(!editable),
        },
      },
    })
    editorRef.current = editor
    return () => {
      editor.destroy()
      editorRef.current = undefined
    }
  }, [connection])

  useEffect(() => {
    const editor = editorRef.current
    if (!editor) return
    editor.setEditable(editable)
    editor.view.dom.setAttribute('aria-readonly', String(!editable))
  }, [editable])

  return <div ref={host} class={editable ? 'editor' : 'editor editor--readonly'} />
}
