/**
 * `--debug-safe`: every secret taken out of text before it is shown or
 * logged, so that what a user pastes into a bug report holds none. Secrets
 * are found by their shape (API keys, private keys, swarm keys, invites,
 * bearer tokens, tokens in URLs) and by value (the node's API token, which
 * has no shape of its own).
 */

const CENSOR = '[redacted]'

const SHAPES: Array<[RegExp, string]> = [
  // PEM private keys (identity export), whole blocks, in text or JSON-escaped (\n as two characters)
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, `-----BEGIN $1PRIVATE KEY----- ${CENSOR} -----END $1PRIVATE KEY-----`],
  // swarm keys of private networks: the header lines, then 64 hex digits
  [/(\/key\/swarm\/psk\/1\.0\.0\/(?:\s|\\n)*\/base16\/(?:\s|\\n)*)[0-9a-fA-F]{64}/g, `$1${CENSOR}`],
  // invites may carry a swarm key: the whole payload goes
  [/agora-invite:1:[A-Za-z0-9_-]+/g, `agora-invite:1:${CENSOR}`],
  // API keys for /v1
  [/agk_[A-Za-z0-9_-]+/g, `agk_${CENSOR}`],
  [/(Bearer\s+)[A-Za-z0-9._~+/-]+=*/gi, `$1${CENSOR}`],
  [/([?&](?:token|api_key|key)=)[^&\s"']+/g, `$1${CENSOR}`]
]

export type Redactor = (text: string) => string

/** A redactor for the secrets' shapes, and for these exact values (too short ones are ignored: they would blank out words). */
export function secretRedactor (known: ReadonlyArray<string | undefined> = []): Redactor {
  const values = known.filter((v): v is string => v !== undefined && v.length >= 16)
  return (text: string): string => {
    let out = text
    for (const value of values) out = out.replaceAll(value, CENSOR)
    for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement)
    return out
  }
}
