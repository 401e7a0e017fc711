/** Temp data dirs for tests; callers remove them (or hand them to a TestSwarm). */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function tempDir (prefix = 'agora-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}
