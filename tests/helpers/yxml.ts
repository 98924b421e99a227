import * as Y from 'yjs'

/** A Y.XmlElement as y-prosemirror stores a node: its attributes, then its children. */
export function element(nodeName: string, attrs: Record<string, unknown>, children: Array<Y.XmlElement | Y.XmlText>): Y.XmlElement {
  const node = new Y.XmlElement(nodeName)
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value as string)
  node.insert(0, children)
  return node
}

/** A Y.XmlText of runs, each with its marks as formatting attributes (`{ bold: {} }`). */
export function text(...runs: Array<[string, Record<string, unknown>?]>): Y.XmlText {
  const node = new Y.XmlText()
  node.applyDelta(runs.map(([insert, attributes]) => (attributes ? { insert, attributes } : { insert })))
  return node
}
