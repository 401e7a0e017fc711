/**
 * Private-network swarm keys (the go-ipfs / libp2p-pnet v1 format):
 *
 *   /key/swarm/psk/1.0.0/
 *   /base16/
 *   <64 hex characters>
 */
import { readFileSync } from 'node:fs'
import { generateKey } from '@libp2p/pnet'
import { AgoraError, messageOf } from '../errors.ts'

const HEADER = '/key/swarm/psk/1.0.0/'
const ENCODING = '/base16/'
const KEY_HEX = /^[0-9a-fA-F]{64}$/

/** Check a swarm key's text; the reason it is wrong, or undefined when it is fine. */
export function swarmKeyProblem (text: string): string | undefined {
  const lines = text.split(/\r?\n/).map(line => line.trim())
  if (lines[0] !== HEADER) return `the first line must be ${HEADER}`
  if (lines[1] !== ENCODING) return `the second line must be ${ENCODING}`
  if (!KEY_HEX.test(lines[2] ?? '')) return 'the third line must be 64 hexadecimal characters (a 32-byte key)'
  if (lines.slice(3).some(line => line !== '')) return 'unexpected text after the key'
  return undefined
}

/** Read and check a swarm key file; the bytes go to `preSharedKey({ psk })`. Bad file → E208. */
export function readSwarmKey (path: string): Uint8Array {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new AgoraError('E208', `cannot read the swarm key file ${path}`, { why: messageOf(err), cause: err })
  }
  const problem = swarmKeyProblem(text)
  if (problem !== undefined) throw new AgoraError('E208', `${path} is not a libp2p swarm key`, { why: problem })
  return new TextEncoder().encode(text.trim())
}

/** A fresh random swarm key, as the text of a swarm key file. */
export function generateSwarmKey (): string {
  const bytes = new Uint8Array(HEADER.length + ENCODING.length + 2 + 64)
  generateKey(bytes)
  return new TextDecoder().decode(bytes) + '\n'
}

/** The 64 hex digits of a checked swarm key's text (as `readSwarmKey` returns it), lower case. */
export function swarmKeyHex (key: Uint8Array | string): string {
  const text = typeof key === 'string' ? key : new TextDecoder().decode(key)
  return (text.split(/\r?\n/).map(line => line.trim())[2] ?? '').toLowerCase()
}

/** The text of a swarm key file holding the key `hex` (64 hex digits). */
export function swarmKeyFromHex (hex: string): string {
  return `${HEADER}\n${ENCODING}\n${hex.toLowerCase()}\n`
}
