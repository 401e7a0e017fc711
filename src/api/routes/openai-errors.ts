/**
 * Errors on /v1 in OpenAI's shape, `{ error: { message, type, param, code } }`,
 * with Agora's code in `code` so a client can tell them apart, and the
 * code's status. An error carrying `details.suggestions` (unknown model,
 * E930: 404) lists the close matches in the message; a rate limit or a
 * pause (429 or 503 with `details.retryAfterMs`, e.g. E904/E905) sets
 * Retry-After in whole seconds, rounded up.
 */
import { AgoraError, messageOf } from '../../errors.ts'
import type { OpenAiErrorBody } from './openai-schemas.ts'

export interface OpenAiError {
  status: number
  body: OpenAiErrorBody
  /** Seconds for the Retry-After header, when the caller should come back later. */
  retryAfterSeconds?: number
}

export function toOpenAiError (error: AgoraError): OpenAiError {
  const suggestions = stringsOf(error.details?.suggestions)
  const status = error.status
  let message = error.why === undefined || error.why === '' ? error.what : `${error.what}: ${error.why}`
  if (suggestions !== undefined && suggestions.length > 0 && !suggestions.some(s => message.includes(s))) {
    message += `; did you mean ${suggestions.map(s => `'${s}'`).join(', ')}?`
  }
  const param = typeof error.details?.param === 'string' ? error.details.param : null
  const body: OpenAiErrorBody = { error: { message, type: typeFor(status), param, code: error.code, hint: error.hint } }
  const retryAfterMs = error.details?.retryAfterMs
  if ((status === 429 || status === 503) && typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) {
    return { status, body, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) }
  }
  return { status, body }
}

/** A failure from below that is not an AgoraError: the stream broke or sent nonsense. */
export function asStreamError (err: unknown): AgoraError {
  if (err instanceof AgoraError) return err
  return new AgoraError('E964', 'the answer stream failed', { why: messageOf(err), cause: err })
}

function typeFor (status: number): string {
  if (status === 401) return 'authentication_error'
  if (status === 403) return 'permission_error'
  if (status === 429) return 'rate_limit_error'
  if (status >= 500) return 'server_error'
  return 'invalid_request_error'
}

function stringsOf (value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined
}
