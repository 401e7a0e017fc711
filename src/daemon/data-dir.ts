/**
 * The data dir: where a node keeps its key, store, token and logs. Checked
 * once at start so that an unwritable dir is one clear error, not a failure
 * deep inside SQLite or libp2p.
 */
import { mkdirSync, accessSync, constants, statSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { AgoraError, messageOf } from '../errors.ts'

export const DATA_DIR_FILES = {
  identity: 'identity.key',
  store: 'agora.db',
  token: 'api.token',
  apiInfo: 'api.json',
  pid: 'agora.pid',
  logs: 'logs'
} as const

/** Create the data dir (0700) if missing and prove we can write there. */
export function prepareDataDir (dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    if (!statSync(dataDir).isDirectory()) throw new Error('it is not a directory')
    accessSync(dataDir, constants.W_OK | constants.R_OK)
    // access() says yes to root even on a read-only mount; a real write tells the truth
    const probe = join(dataDir, `.write-test-${randomBytes(4).toString('hex')}`)
    writeFileSync(probe, '')
    rmSync(probe)
  } catch (err) {
    throw new AgoraError('E603', `the data dir ${dataDir} is not writable`, { why: messageOf(err), cause: err })
  }
}
