/**
 * What a command is about to send, checked with the route's own schema
 * (src/client/schemas.ts) before it leaves: a bad value is then a usage
 * error naming the flag (E600, exit 2), not the node's "invalid body.url".
 * Imported lazily by the commands that need it, so zod is not loaded on
 * every CLI start.
 */
import { AgoraError } from '../errors.ts'
import type { z } from 'zod'

/** `value` parsed by `schema`; E600 naming the flag (`flags[field]`) of the first problem. */
export function checkFlags<S extends z.ZodType> (schema: S, value: unknown, flags: Record<string, string>, command: string): z.infer<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = String(issue?.path[0] ?? '')
  throw new AgoraError('E600', `${flags[field] ?? field}: ${issue?.message ?? 'invalid'}`, { hint: `see \`agora ${command} --help\`` })
}
