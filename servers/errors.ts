import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

/** Thrown when a backing store (Redis) cannot answer: a 503, not a rejected credential. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
  statusCode = 503
}

/**
 * One error handler for the whole app. Library rejections of a credential (fast-jwt's FAST_JWT_*,
 * @fastify/jwt's FST_JWT_*) become 401, whatever status the library chose (some come out as 500).
 * A store outage is 503. Everything else keeps its 4xx or becomes a logged 500. Always a JSON body.
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const code = typeof error.code === 'string' ? error.code : ''
  let status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
  if (code.startsWith('FAST_JWT_') || code.startsWith('FST_JWT_')) status = 401
  if (isRedisError(error)) status = 503
  if (status >= 500) request.log.error({ err: error }, 'request failed')
  const message = status === 401 ? 'unauthorized' : status >= 500 ? (status === 503 ? 'store unavailable' : 'internal error') : error.message
  void reply.code(status).send({ error: message })
}

function isRedisError(error: Error): boolean {
  return error instanceof StoreUnavailableError || /^(ReplyError|MaxRetriesPerRequestError|AbortError)$/.test(error.name) ||
    /ECONNREFUSED|Connection is closed|Stream isn't writeable/.test(error.message)
}

export const UNAUTHORIZED = Object.freeze({ error: 'unauthorized' })
