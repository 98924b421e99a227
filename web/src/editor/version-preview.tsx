import { Editor, type JSONContent } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import { useEffect, useRef } from 'preact/hooks'

/** A version's content in a read-only Tiptap with the live editor's schema (no socket, no Y.Doc). */
export function VersionPreview({ content, label }: { content: JSONContent; label: string }) {
  const host = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!host.current) return
    const editor = new Editor({
      element: host.current,
      injectCSS: false,
      editable: false,
      extensions: [StarterKit.configure({ undoRedo: false })],
      content,
      editorProps: {
        attributes: { role: 'textbox', 'aria-multiline': 'true', 'aria-readonly': 'true', 'aria-label': label },
      },
    })
    return () => editor.destroy()
  }, [content, label])
  return <div ref={host} class="preview" />
}
