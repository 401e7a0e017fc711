/**
 * Ids only the running node knows (jobs, peers, keys, models, …), for
 * completion. ID_SLOTS is the one place that says which argument or option
 * takes which kind of id; LIST_IDS says how to ask the node for each kind.
 * Completion must never hang or print errors: the node gets a short time to
 * answer, and no node (or no answer) means no candidates.
 */
import type { Command } from 'commander'
import type { ControlClient } from '../../client/index.ts'
import type { Candidate } from './walk.ts'

export type IdKind = 'job' | 'peer' | 'key' | 'model' | 'offer' | 'need' | 'contract'

/** `<command path> <argument>` or `<command path> --option` → the kind of id it takes. */
export const ID_SLOTS: Readonly<Record<string, IdKind>> = {
  'jobs show <id>': 'job',
  'jobs watch <id>': 'job',
  'jobs result <id>': 'job',
  'jobs cancel <id>': 'job',
  'jobs submit --model': 'model',
  'peers info <peerId>': 'peer',
  'peers connect <multiaddrOrPeerId>': 'peer',
  'peers disconnect <peerId>': 'peer',
  'peers remove <peerId>': 'peer',
  'peers trust <peerId>': 'peer',
  'peers untrust <peerId>': 'peer',
  'peers ban <peerId>': 'peer',
  'peers unban <peerId>': 'peer',
  'peers ping <peerId>': 'peer',
  'keys revoke <idOrName>': 'key',
  'chat <model>': 'model',
  'chat --target': 'peer',
  'embed <model>': 'model',
  'embed --target': 'peer',
  'offers list --model': 'model',
  'offers show <id>': 'offer',
  'requests list --model': 'model',
  'wallet limits <peer>': 'peer',
  'wallet reconcile <peer>': 'peer',
  'market proposals <needId>': 'need',
  'market decide <needId>': 'need',
  'market decide --seller': 'peer',
  'market withdraw <needId>': 'need',
  'market request <offerId>': 'offer',
  'market accept <contractId>': 'contract',
  'market reject <contractId>': 'contract',
  'market cancel <contractId>': 'contract'
}

/** How long the node may take to list ids before completion gives up silently. */
export const LIVE_ID_TIMEOUT_MS = 300

/** The kind of id a slot of `cmd` takes: `<name>` for an argument, `--name` for an option. */
export function idKindOf (cmd: Command, slot: string): IdKind | undefined {
  return ID_SLOTS[`${commandPath(cmd)} ${slot}`]
}

/** `jobs show` for the command `agora jobs show`. */
export function commandPath (cmd: Command): string {
  const names: string[] = []
  for (let at: Command | null = cmd; at?.parent != null; at = at.parent) names.unshift(at.name())
  return names.join(' ')
}

const LIST_IDS: Record<IdKind, (client: ControlClient) => Promise<Candidate[]>> = {
  job: async client => (await client.jobs({ limit: 100 })).map(j => ({ value: j.id, description: `${j.type}, ${j.state}` })),
  peer: async client => (await client.peers()).map(p => ({ value: p.peerId, description: p.connected ? 'connected' : 'known, not connected' })),
  key: async client => (await client.keys()).filter(k => k.revokedAt === null).map(k => ({ value: k.id, description: k.name })),
  model: async client => (await client.models()).map(m => ({ value: m.name, description: `${m.kind}, ${m.nodes} node${m.nodes === 1 ? '' : 's'}` })),
  offer: async client => (await client.offers()).map(o => ({ value: o.id, description: `offer of ${o.node}` })),
  need: async client => (await client.needs()).map(n => ({ value: n.id, description: `${n.taskType}, ${n.state}` })),
  contract: async client => (await client.contracts()).map(c => ({ value: c.id, description: `${c.what}, ${c.state}` }))
}

/** Ids of `kind` starting with `prefix`, from the node on `dataDir`; [] when there is no node or it is slow. */
export async function liveIds (kind: IdKind, dataDir: string, prefix: string, timeoutMs = LIVE_ID_TIMEOUT_MS): Promise<Candidate[]> {
  const { ControlClient, readApiInfo } = await import('../../client/index.ts')
  let timer: NodeJS.Timeout | undefined
  try {
    const { info, token } = readApiInfo(dataDir)
    const client = new ControlClient({ url: info.url, token, timeoutMs })
    const late = new Promise<Candidate[]>(resolve => { timer = setTimeout(() => { resolve([]) }, timeoutMs) })
    const ids = await Promise.race([LIST_IDS[kind](client), late])
    return ids.filter(c => c.value.startsWith(prefix))
  } catch {
    return []
  } finally {
    clearTimeout(timer)
  }
}
