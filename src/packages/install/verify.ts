/**
 * Re-hashing installed files against their manifest's sha256: what
 * `agora pkg verify` reports (a file changed on disk, or gone).
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { Manifest } from '../manifest.ts'
import type { InstalledPackage, VerifyReport } from '../types.ts'
import { fileTarget } from './write-files.ts'

export async function verifyInstalled (installed: InstalledPackage, manifest: Manifest): Promise<VerifyReport> {
  const bad: string[] = []
  for (const file of manifest.files) {
    const sha256 = await hashFile(fileTarget(installed.dir, file.path)).catch(() => undefined)
    if (sha256 !== file.sha256) bad.push(file.path)
  }
  return { cid: installed.cid, name: installed.name, version: installed.version, ok: bad.length === 0, bad }
}

export async function hashFile (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
