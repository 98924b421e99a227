import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance, FastifySchema } from 'fastify'
import secureJsonParse from 'secure-json-parse'
import { ErrorCodes } from '../../shared/errors.ts'
import { AppError } from './errors.ts'

const common: Options = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false }

/**
 * Two validators: URL parts arrive as strings, so params and querystrings are coerced (`?limit=10`);
 * JSON bodies are typed already, so a body that sends `"title": 42` is a 400, not the string "42".
 */
export function registerValidation(app: FastifyInstance): void {
  const coercing = addFormats.default(new Ajv({ ...common, coerceTypes: 'array' }))
  const strict = addFormats.default(new Ajv({ ...common, coerceTypes: false }))
  app.setValidatorCompiler<FastifySchema>(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema as object),
  )
}

const POISONING = 'Object contains forbidden prototype property'

/**
 * Fastify's own JSON parser (the same secure-json-parse underneath) answers every failure with
 * "Body is not valid JSON", also for valid JSON it refuses on purpose (a `__proto__` or
 * `constructor.prototype` key, which could change an object's prototype); say which it is.
 */
export function registerJsonParser(app: FastifyInstance): void {
  // The API takes JSON (and, on the routes that say so, binary); a text body is a 415, not a string
  // that fails the schema.
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(new AppError(400, ErrorCodes.InvalidInput, 'Body is empty but content-type is application/json'))
    try {
      done(null, secureJsonParse.parse(body as string, undefined, { protoAction: 'error', constructorAction: 'error' }))
    } catch (error) {
      const poisoned = error instanceof SyntaxError && error.message === POISONING
      done(
        new AppError(
          400,
          ErrorCodes.InvalidInput,
          poisoned ? 'JSON keys named "__proto__" (or "constructor" with a "prototype") are not accepted' : 'Body is not valid JSON',
        ),
      )
    }
  })
}
