/**
 * Who may call /v1: a request with a valid `Authorization: Bearer agk_…`,
 * or, while allowLocalWithoutKey is on, any client on the loopback
 * interface without a key. OpenAI SDKs insist on sending some key, so on
 * loopback a bearer that is not an Agora key (`sk-local`, `ollama`) counts
 * as no key; an `agk_` key is always checked, and a wrong or revoked one
 * is refused even from loopback. The node's control token (the operator,
 * e.g. `agora chat`) is accepted too, as key id 'operator'.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { AgoraError } from '../../errors.ts'
import { API_KEY_PREFIX, type ApiKeys } from './api-keys.ts'

const LOOPBACK_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

export function isLoopback (address: string | undefined): boolean {
  return address !== undefined && LOOPBACK_ADDRESSES.has(address)
}

export interface ApiKeyCheckInit {
  /** Let loopback clients in without a key. */
  allowLocalWithoutKey: boolean
  /** The control token: whoever holds it operates the node, so it may use /v1 too. */
  operatorToken?: string
}

/** Key id recorded for requests made with the control token. */
export const OPERATOR_KEY_ID = 'operator'

/** The caller's key id, null for a keyless loopback client; throws E960 otherwise. */
export type ApiKeyCheck = (authorization: string | undefined, remoteAddress: string | undefined) => string | null

export function createApiKeyCheck (keys: Pick<ApiKeys, 'verify'>, init: ApiKeyCheckInit): ApiKeyCheck {
  const operator = init.operatorToken === undefined ? undefined : createHash('sha256').update(init.operatorToken).digest()
  const isOperator = (secret: string): boolean => operator !== undefined && timingSafeEqual(createHash('sha256').update(secret).digest(), operator)
  return (authorization, remoteAddress) => {
    const secret = authorization === undefined ? undefined : (/^Bearer\s+(\S+)$/i.exec(authorization)?.[1] ?? '')
    if (secret !== undefined && secret !== '' && isOperator(secret)) return OPERATOR_KEY_ID
    const agoraKey = secret?.startsWith(API_KEY_PREFIX) === true
    if (!agoraKey && init.allowLocalWithoutKey && isLoopback(remoteAddress)) return null
    if (secret === undefined || secret === '') {
      throw new AgoraError('E960', 'missing API key', { why: init.allowLocalWithoutKey ? 'only loopback clients may call /v1 without a key' : 'api.allowLocalWithoutKey is off' })
    }
    const id = agoraKey ? keys.verify(secret) : undefined
    if (id === undefined) throw new AgoraError('E960', 'invalid API key', { why: 'the key is unknown, revoked or not an Agora key (agk_…)' })
    return id
  }
}
