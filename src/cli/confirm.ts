/**
 * Destructive verbs ask first (issue: a typo should not revoke a key or
 * replace an identity): on a terminal the user types `yes`; without one
 * they refuse unless `--yes` (`-y`) says so up front.
 */
import { createInterface } from 'node:readline/promises'
import { AgoraError } from '../errors.ts'
import type { Command } from 'commander'

/** Add `-y, --yes` to a destructive command. */
export function withYes (cmd: Command): Command {
  return cmd.option('-y, --yes', 'do not ask for confirmation (needed without a terminal)')
}

/** Resolves once `what` is confirmed; E607 when it is not (another answer, or no terminal and no --yes). */
export async function confirm (what: string, flags: { yes?: boolean }): Promise<void> {
  if (flags.yes === true) return
  if (process.stdin.isTTY !== true) {
    throw new AgoraError('E607', `${what}: not confirmed`, { why: 'there is no terminal to ask on', hint: 'pass --yes (-y) to confirm' })
  }
  const ask = createInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = await ask.question(`${what}. Type yes to go on: `)
    if (answer.trim() !== 'yes') throw new AgoraError('E607', `${what}: not confirmed`, { why: `the answer was '${answer.trim().slice(0, 20)}', not yes` })
  } finally {
    ask.close()
  }
}
