/** Why a peer's payload failed its schema, in one short line (for E1117's `why`). */
import type { z } from 'zod'

export function problemOf (err: z.ZodError): string {
  const issue = err.issues[0]
  const text = issue === undefined ? 'invalid' : `${issue.path.join('.') || '(payload)'}: ${issue.message}`
  return text.length > 200 ? text.slice(0, 199) + '…' : text
}
