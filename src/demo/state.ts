/**
 * Where a demo swarm lives and how it is remembered: one folder under the
 * OS temp dir (`<tmp>/agora-demo-<uid>`) holding the three nodes' data dirs, their
 * config files, a shared embeddings cache and `demo.json` — the state file
 * that `agora demo --stop` reads to find the nodes again. One demo at a time.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { AgoraError, messageOf } from '../errors.ts'
import { isAlive } from '../client/index.ts'
import { writeAtomic } from '../daemon/api-files.ts'
import { DEMO_NODES, type DemoRole } from './constants.ts'

const nodeStateSchema = z.object({
  name: z.string(),
  role: z.enum(DEMO_NODES.map(n => n.role) as [DemoRole, ...DemoRole[]]),
  dataDir: z.string(),
  pid: z.number().int().positive(),
  peerId: z.string(),
  apiUrl: z.string(),
  address: z.string(),
  log: z.string()
})
export type DemoNodeState = z.infer<typeof nodeStateSchema>

const stateSchema = z.object({
  /** The `agora demo` process that made the swarm (alive while it is still starting it). */
  pid: z.number().int().positive(),
  startedAt: z.number(),
  dir: z.string(),
  nodes: z.array(nodeStateSchema)
})
export type DemoState = z.infer<typeof stateSchema>

/**
 * The demo's folder, one per user (the temp dir is shared: another user's
 * folder, or one planted there, is never ours to use or remove); the OS temp
 * dir is read at call time, so `TMPDIR` moves it.
 */
export function demoDir (): string {
  return join(tmpdir(), `agora-demo-${userTag()}`)
}

function userTag (): string {
  return String(process.getuid?.() ?? userInfo().username)
}

export function stateFile (dir = demoDir()): string {
  return join(dir, 'demo.json')
}

/** The state file, or undefined when there is none; a damaged one is E1305. */
export function readState (dir = demoDir()): DemoState | undefined {
  let text: string
  try {
    text = readFileSync(stateFile(dir), 'utf8')
  } catch {
    return undefined
  }
  try {
    return stateSchema.parse(JSON.parse(text))
  } catch (err) {
    throw new AgoraError('E1305', `cannot read the demo state ${stateFile(dir)}`, { why: messageOf(err), hint: `remove ${dir} (rm -r ${dir}), and stop any agora process started from it` })
  }
}

export function writeState (state: DemoState): void {
  writeAtomic(stateFile(state.dir), JSON.stringify(state, null, 2) + '\n')
}

/** Whether any process of the demo still runs: its nodes, or the `agora demo` still starting them. */
export function demoRunning (state: DemoState): boolean {
  return (state.pid !== process.pid && isAlive(state.pid)) || state.nodes.some(n => isAlive(n.pid))
}

/** A fresh demo folder: refuses (E1301) while a demo runs; a stale one (every process gone) is removed first. */
export function claimDemoDir (dir = demoDir()): DemoState {
  const existing = readState(dir)
  if (existing !== undefined && demoRunning(existing)) {
    throw new AgoraError('E1301', 'a demo swarm is running already', {
      why: `${existing.nodes.length} node(s) in ${dir}, started ${new Date(existing.startedAt).toISOString()}`,
      hint: 'stop it with `agora demo --stop`, then run `agora demo` again'
    })
  }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const state: DemoState = { pid: process.pid, startedAt: Date.now(), dir, nodes: [] }
  writeState(state)
  return state
}
