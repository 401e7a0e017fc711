/** Short, bounded descriptions of what went wrong, for `why` fields that cross the wire. */
import { z } from 'zod'
import { messageOf } from '../../errors.ts'

const MAX_PROBLEM_CHARS = 400

function clip (text: string): string {
  return text.length > MAX_PROBLEM_CHARS ? text.slice(0, MAX_PROBLEM_CHARS - 1) + '…' : text
}

/** The first zod issue as `path: message`, or the error's message. */
export function problemOf (err: unknown): string {
  if (err instanceof z.ZodError) {
    const issue = err.issues[0]
    return clip(issue === undefined ? 'invalid' : `${issue.path.join('.') || '(root)'}: ${issue.message}`)
  }
  return clip(messageOf(err))
}
