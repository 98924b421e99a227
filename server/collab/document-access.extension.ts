import type { Extension, onAuthenticatePayload } from '@hocuspocus/server'
import { CloseEvents } from '../../shared/close-codes.ts'
import { isValidDocumentId } from '../../shared/documents.ts'
import type { CollabContext } from './context.ts'

/**
 * Decides who may open a document over either socket path. For now: any well-formed document id,
 * anonymously (the access issue replaces this with roles).
 */
export class DocumentAccessExtension implements Extension<CollabContext> {
  extensionName = 'document-access'

  async onAuthenticate({
    documentName,
  }: onAuthenticatePayload<CollabContext>): Promise<Partial<CollabContext>> {
    if (!isValidDocumentId(documentName)) throw { ...CloseEvents.NotFound }
    return {}
  }
}
