/**
 * What `agora start` in the foreground tells a person, on stdout (the logs
 * go to stderr): who the node is and where its APIs are; on a fresh data
 * dir, the next three steps; and, a few seconds in, whether it found any
 * peer — plainly, when it is alone.
 */
import type { AgoraNode } from '../node.ts'
import { NO_BOOTSTRAP_PEERS } from '../invites/constants.ts'

/** How long the connectivity check waits for a first peer. */
export const ALONE_AFTER_MS = 8_000

/** `bootstrap`: how many bootstrap peers are configured (none, on a fresh data dir: the banner says how to find some). */
export function startBanner (node: Pick<AgoraNode, 'peerId' | 'apiUrl'>, fresh: boolean, bootstrap?: number): string {
  const lines = [
    `agora node ${node.peerId}`,
    `  API            ${node.apiUrl}/api/v1   (token in <data-dir>/api.token)`,
    `  OpenAI API     ${node.apiUrl}/v1`
  ]
  if (fresh) {
    lines.push(
      '',
      'A new node. Next:',
      '  1. connect a peer:     agora join <invite>   (`agora invite` on a node of the network prints one), or agora peers connect /ip4/<address>/tcp/<port>/p2p/<peer id>',
      '  2. add an engine:      agora providers add local --kind ollama --url http://127.0.0.1:11434   (found by itself on the usual ports)',
      '  3. try it:             agora embed agora/wink-embed-100d "hello"   then, with a chat model served: agora chat <model> "hello"   (agora models lists them)',
      '  or see a whole swarm:  agora demo   (3 local nodes, a chat, an embedding and a job; `agora demo --stop` ends it)'
    )
  }
  if (fresh && bootstrap === 0) lines.push('', NO_BOOTSTRAP_PEERS)
  return lines.join('\n') + '\n'
}

/** One line on how connected the node is, once it has had its chance; undefined when it has peers. */
export function connectivityNote (peers: number, bootstrap: number, mdns: boolean): string | undefined {
  if (peers > 0) return undefined
  if (bootstrap === 0) {
    return mdns
      ? 'alone: no bootstrap peers, and mDNS found nobody on this network yet — join with an invite (`agora join <invite>`), or find LAN peers by mDNS (they appear once a node runs there)'
      : 'alone: no bootstrap peers and mDNS is off — join with an invite (`agora join <invite>`), or turn mDNS on to find LAN peers'
  }
  return `alone: none of the ${bootstrap} bootstrap peer${bootstrap === 1 ? '' : 's'} answered within ${ALONE_AFTER_MS / 1000} s — check them with \`agora doctor\`, or connect one with \`agora peers connect <multiaddr>\``
}
