/**
 * The files through which the CLI finds a running node: `api.token` (made
 * once, 0600, kept across restarts) and `api.json` (url, pid, peer id;
 * written after the API listens, removed on stop).
 */
import { readFileSync, writeFileSync, renameSync, rmSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { ApiInfo } from '../client/client.ts'
import { DATA_DIR_FILES } from './data-dir.ts'

export function loadOrCreateToken (dataDir: string): string {
  const file = join(dataDir, DATA_DIR_FILES.token)
  try {
    const token = readFileSync(file, 'utf8').trim()
    if (token.length >= 32) {
      chmodSync(file, 0o600)
      return token
    }
  } catch { /* first start: make one below */ }
  const token = randomBytes(32).toString('base64url')
  writeAtomic(file, token + '\n')
  return token
}

export function writeApiInfo (dataDir: string, info: ApiInfo & Record<string, unknown>): void {
  writeAtomic(join(dataDir, DATA_DIR_FILES.apiInfo), JSON.stringify(info, null, 2) + '\n')
}

export function removeApiInfo (dataDir: string, pid = process.pid): void {
  const file = join(dataDir, DATA_DIR_FILES.apiInfo)
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as ApiInfo
    if (info.pid === pid) rmSync(file, { force: true })
  } catch { /* already gone */ }
}

/** Write a whole file or nothing: temp file, then rename. */
export function writeAtomic (file: string, content: string, mode = 0o600): void {
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, content, { mode })
  renameSync(temp, file)
}
