/**
 * Request guards for the HTTP server: the DNS-rebinding / CSRF check on Host
 * and Origin, and bearer-token authentication. A browser page on another
 * origin, or a hostile DNS name pointing at 127.0.0.1, gets 403; a caller
 * without the token gets 401.
 */
import { timingSafeEqual, createHash } from 'node:crypto'
import { AgoraError } from '../errors.ts'

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

export interface HostGuardInit {
  /** Extra host names allowed besides loopback (the configured api.host). */
  extraHosts?: string[]
  /** The port the server listens on, once known; undefined skips the port check (inject tests). */
  port: () => number | undefined
}

/**
 * The URL clients on this machine use for an API bound to `host` (api.json,
 * status): a wildcard bind listens on loopback too, and only loopback (not
 * 0.0.0.0 or ::) passes the Host guard.
 */
export function localApiUrl (host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`
}

export function createHostGuard (init: HostGuardInit): (host: string | undefined, origin: string | undefined) => void {
  const allowed = new Set([...LOOPBACK_NAMES, ...(init.extraHosts ?? []).filter(h => h !== '0.0.0.0' && h !== '::')])
  const check = (what: string, hostname: string, port: string): void => {
    const listening = init.port()
    if (!allowed.has(hostname.toLowerCase())) {
      throw new AgoraError('E501', `refused a request with ${what} '${hostname}'`, { why: 'only the node\'s own loopback address is accepted (DNS-rebinding and CSRF guard)' })
    }
    if (listening !== undefined && port !== '' && Number(port) !== listening) {
      throw new AgoraError('E501', `refused a request with ${what} port ${port}`, { why: `the node listens on port ${listening}` })
    }
  }
  return (host, origin) => {
    if (host === undefined || host === '') throw new AgoraError('E501', 'refused a request without a Host header')
    const parsedHost = splitHostPort(host)
    check('Host', parsedHost.hostname, parsedHost.port)
    if (origin !== undefined && origin !== '') {
      let url: URL
      try {
        url = new URL(origin)
      } catch {
        throw new AgoraError('E501', `refused a request with Origin '${origin}'`, { why: 'it is not a URL' })
      }
      const defaultPort = url.protocol === 'https:' ? '443' : '80'
      check('Origin', url.hostname, url.port === '' ? defaultPort : url.port)
    }
  }
}

function splitHostPort (host: string): { hostname: string, port: string } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.trim())
  if (match === null) return { hostname: host, port: '' }
  return { hostname: match[1] as string, port: match[2] ?? '' }
}

/** Constant-time token comparison (hash first so lengths never leak). */
export function createTokenCheck (token: string): (presented: string | undefined) => void {
  const expected = createHash('sha256').update(token).digest()
  return presented => {
    if (presented === undefined || presented === '') {
      throw new AgoraError('E500', 'missing API token', { why: 'the control API needs `Authorization: Bearer <token>`' })
    }
    const given = createHash('sha256').update(presented).digest()
    if (!timingSafeEqual(given, expected)) throw new AgoraError('E500', 'invalid API token')
  }
}

/** The bearer token from an Authorization header, or the `token` query parameter (WebSocket clients). */
export function presentedToken (authorization: string | undefined, url: string): string | undefined {
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization)
    return match?.[1] ?? ''
  }
  const query = url.indexOf('?')
  if (query < 0) return undefined
  return new URLSearchParams(url.slice(query + 1)).get('token') ?? undefined
}
