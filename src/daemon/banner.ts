/**
 * What `agora start` in the foreground tells a person, on stdout (the logs
 * go to stderr): who the node is and where its APIs are; on a fresh data
 * dir, the next three steps; and, a few seconds in, whether it found any
 * peer — plainly, when it is alone.
 */
import type { AgoraNode } from '../node.ts'

/** How long the connectivity check waits for a first peer. */
export const ALONE_AFTER_MS = 8_000

export function startBanner (node: Pick<AgoraNode, 'peerId' | 'apiUrl'>, fresh: boolean): string {
  const lines = [
    `agora node ${node.peerId}`,
    `  API            ${node.apiUrl}/api/v1   (token in <data-dir>/api.token)`,
    `  OpenAI API     ${node.apiUrl}/v1`
  ]
  if (fresh) {
    lines.push(
      '',
      'A new node. Next:',
      '  1. connect a peer:     agora peers connect /ip4/<address>/tcp/<port>/p2p/<peer id>   (or let mDNS find LAN peers)',
      '  2. add an engine:      agora providers add local --kind ollama --url http://127.0.0.1:11434   (found by itself on the usual ports)',
      '  3. try it:             agora embed agora/wink-embed-100d "hello"   then, with a chat model served: agora chat <model> "hello"   (agora models lists them)'
    )
  }
  return lines.join('\n') + '\n'
}

/** One line on how connected the node is, once it has had its chance; undefined when it has peers. */
export function connectivityNote (peers: number, bootstrap: number, mdns: boolean): string | undefined {
  if (peers > 0) return undefined
  if (bootstrap === 0) {
    return `alone: no bootstrap peers are configured${mdns ? ' and mDNS found nobody on this network' : ''} — connect one with \`agora peers connect <multiaddr>\`${mdns ? '' : ', or turn mDNS on'}`
  }
  return `alone: none of the ${bootstrap} bootstrap peer${bootstrap === 1 ? '' : 's'} answered within ${ALONE_AFTER_MS / 1000} s — check them with \`agora doctor\`, or connect one with \`agora peers connect <multiaddr>\``
}
