/**
 * The key file on disk: read it (fixing a too-open mode), and write it
 * atomically (temp file, fsync, then link or rename, then fsync the dir) with
 * mode 0600. Failures are E100; nothing here ever replaces a key silently.
 */
import { link, mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'
import { AgoraError, messageOf } from '../errors.ts'
import { DATA_DIR_MODE, KEY_FILE_MODE } from './constants.ts'

/** A PEM key is ~120 bytes; anything this large is not our key file. */
const MAX_KEY_FILE_BYTES = 64 * 1024

/** The file's text, or undefined when there is no file. */
export async function readKeyFile (path: string): Promise<string | undefined> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined
    throw new AgoraError('E100', `cannot read the identity key ${path}`, { why: messageOf(err), cause: err })
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new AgoraError('E100', `cannot read the identity key ${path}`, { why: 'it is not a regular file' })
    if (info.size > MAX_KEY_FILE_BYTES) throw new AgoraError('E100', `cannot read the identity key ${path}`, { why: `it is ${info.size} bytes, too large for a key` })
    // group or others may read it: close that hole before anything else
    if ((info.mode & 0o077) !== 0) await handle.chmod(KEY_FILE_MODE)
    return await handle.readFile('utf8')
  } catch (err) {
    if (err instanceof AgoraError) throw err
    throw new AgoraError('E100', `cannot read the identity key ${path}`, { why: messageOf(err), cause: err })
  } finally {
    await handle.close()
  }
}

/** Create the data dir (mode 0700) when it is missing. */
export async function ensureDataDir (dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: DATA_DIR_MODE })
  } catch (err) {
    throw new AgoraError('E100', `cannot create the data dir ${dataDir}`, { why: messageOf(err), hint: 'choose a data dir you can write to, or fix its permissions', cause: err })
  }
}

/**
 * Write `text` to `path` with mode 0600, atomically: readers see the old file
 * or the whole new one. Without `overwrite`, an existing file is kept and the
 * result is false.
 */
export async function writeKeyFile (path: string, text: string, options: { overwrite: boolean }): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const handle = await open(temp, 'wx', KEY_FILE_MODE)
    try {
      await handle.writeFile(text, 'utf8')
      await handle.chmod(KEY_FILE_MODE) // the umask may have narrowed it oddly
      await handle.sync()
    } finally {
      await handle.close()
    }
    const written = options.overwrite ? await replace(temp, path) : await publishIfAbsent(temp, path)
    if (written) await syncDir(dirname(path))
    return written
  } catch (err) {
    throw new AgoraError('E100', `cannot write the identity key ${path}`, { why: messageOf(err), hint: 'check that the data dir is writable and the disk has space', cause: err })
  } finally {
    await rm(temp, { force: true })
  }
}

async function replace (temp: string, path: string): Promise<boolean> {
  await rename(temp, path)
  return true
}

/** link() fails with EEXIST instead of replacing, so two writers cannot both win. */
async function publishIfAbsent (temp: string, path: string): Promise<boolean> {
  try {
    await link(temp, path)
    return true
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return false
    // file systems without hard links: check, then rename (a small race, no silent loss in practice)
    if (await exists(path)) return false
    await rename(temp, path)
    return true
  }
}

async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false
    throw err
  }
}

async function syncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch {
    // some file systems refuse fsync on a directory; the rename is still atomic
  } finally {
    await handle.close()
  }
}

function errnoOf (err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined
}
