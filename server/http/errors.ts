import type { FastifyError, FastifyInstance } from 'fastify'
import type { ErrorBody } from '../../shared/api/common.ts'
import { type ErrorCode, ErrorCodes } from '../../shared/errors.ts'

/** The one error type routes throw; the handler below renders it. */
export class AppError extends Error {
  readonly statusCode: number
  readonly code: ErrorCode
  readonly details?: ErrorBody['details']
  constructor(statusCode: number, code: ErrorCode, message: string, details?: ErrorBody['details']) {
    super(message)
    this.statusCode = statusCode
    this.code = code
    this.details = details
  }
}

/** Unknown and not-visible answer the same, so a 404 never reveals that something exists. */
export const notFound = (what = 'Document') => new AppError(404, ErrorCodes.NotFound, `${what} not found`)

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: ErrorCodes.InvalidInput,
  401: ErrorCodes.Unauthorized,
  403: ErrorCodes.Forbidden,
  404: ErrorCodes.NotFound,
  409: ErrorCodes.Conflict,
  413: ErrorCodes.PayloadTooLarge,
  415: ErrorCodes.UnsupportedMediaType,
  429: ErrorCodes.RateLimited,
  503: ErrorCodes.NotReady,
}

export function errorBody(
  statusCode: number,
  code: ErrorCode,
  message: string,
  details?: ErrorBody['details'],
) {
  const body: ErrorBody = { statusCode, code, error: STATUS_TEXT[statusCode] ?? 'Error', message }
  if (details) body.details = details
  return body
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) {
      return reply
        .code(error.statusCode)
        .send(errorBody(error.statusCode, error.code, error.message, error.details))
    }
    const fastifyError = error as FastifyError
    if (fastifyError.validation) {
      const details = fastifyError.validation.map((v) => ({
        path: `${fastifyError.validationContext ?? ''}${v.instancePath || ''}${
          v.keyword === 'required' ? `/${(v.params as { missingProperty?: string }).missingProperty}` : ''
        }${v.keyword === 'additionalProperties' ? `/${(v.params as { additionalProperty?: string }).additionalProperty}` : ''}`,
        message: v.message ?? 'is invalid',
      }))
      return reply.code(400).send(errorBody(400, ErrorCodes.InvalidInput, 'Invalid input', details))
    }
    const status = fastifyError.statusCode ?? 500
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed')
      return reply.code(500).send(errorBody(500, ErrorCodes.Internal, 'Internal Server Error'))
    }
    return reply
      .code(status)
      .send(errorBody(status, CODE_FOR_STATUS[status] ?? ErrorCodes.InvalidInput, fastifyError.message))
  })
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send(errorBody(404, ErrorCodes.NotFound, `Route ${request.method} ${request.url} not found`))
  })
}
