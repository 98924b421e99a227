import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance, FastifySchema } from 'fastify'

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
