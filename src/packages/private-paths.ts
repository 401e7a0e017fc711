/**
 * What publish must never read: the node's data dir holds its private key
 * (identity.key) and the API token, and a published package is gossiped,
 * content-addressed and served to anyone — it cannot be taken back. So a
 * path inside the data dir, or a folder that holds the data dir (publishing
 * a home folder), is refused; the package store under it
 * (`<data dir>/packages/`, installed packages) may be published again.
 */
import { realpath } from 'node:fs/promises'
import { join, relative, isAbsolute } from 'node:path'
import { AgoraError } from '../errors.ts'
import { PACKAGE_STORE_DIR } from './install/constants.ts'

/** Throws E1430 when publishing `path` could read the node's secrets under `dataDir`. */
export async function refusePrivatePath (path: string, dataDir: string): Promise<void> {
  // links resolved on both sides: a link to the key file is the key file
  const target = await realpath(path).catch(() => path)
  const data = await realpath(dataDir).catch(() => dataDir)
  const store = join(data, PACKAGE_STORE_DIR)
  const inside = (child: string, parent: string): boolean => {
    const rel = relative(parent, child)
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
  }
  if (inside(target, store) && target !== store) return
  if (inside(target, data) || inside(data, target)) {
    throw new AgoraError('E1430', `will not publish ${path}`, {
      why: `it ${inside(target, data) ? 'is inside' : 'holds'} the node's data dir ${data}, with its private key and API token`,
      hint: 'publish a folder that holds only the package\'s files, outside the data dir'
    })
  }
}
