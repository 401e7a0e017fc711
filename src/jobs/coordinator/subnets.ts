/**
 * The network a worker sits in, for spreading a subtask's replicas
 * (docs/verification.md, "Redundant execution"): a worker's first routable
 * address cut to its /24 (IPv4) or /48 (IPv6). Loopback, unspecified and
 * link-local addresses say nothing about where a machine is: no subnet, and
 * the rule does not apply (every test node is on 127.0.0.1).
 */

/** `a.b.c` of an IPv4 or the first three groups of an IPv6 address in one of `addresses` (multiaddrs), or undefined. */
export function subnetOf (addresses: readonly string[] | undefined): string | undefined {
  for (const address of addresses ?? []) {
    const [, proto, host] = address.split('/')
    if (proto === 'ip4' && host !== undefined) {
      const parts = host.split('.')
      if (parts.length !== 4 || parts[0] === '127' || host === '0.0.0.0' || (parts[0] === '169' && parts[1] === '254')) continue
      return `ip4:${parts.slice(0, 3).join('.')}`
    }
    if (proto === 'ip6' && host !== undefined) {
      const lower = host.toLowerCase()
      if (lower === '::1' || lower === '::' || lower.startsWith('fe80:')) continue
      const groups = expand(lower)
      if (groups !== undefined) return `ip6:${groups.slice(0, 3).join(':')}`
    }
  }
  return undefined
}

/** The eight groups of an IPv6 address (`::` expanded), or undefined when it is not one. */
function expand (host: string): string[] | undefined {
  const [head = '', tail] = host.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const missing = 8 - left.length - right.length
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined
  const groups = [...left, ...new Array<string>(missing).fill('0'), ...right].map(g => g.replace(/^0+(?=.)/, ''))
  return groups.every(g => /^[0-9a-f]{1,4}$/.test(g)) ? groups : undefined
}
