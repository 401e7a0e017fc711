/** The network a worker sits in, from its multiaddrs: /24 for IPv4, /48 for IPv6; loopback, unspecified and link-local say nothing. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { subnetOf } from '../../../src/jobs/coordinator/subnets.ts'

test('the first routable address, cut to its /24 or /48', () => {
  assert.equal(subnetOf(['/ip4/203.0.113.7/tcp/4001']), 'ip4:203.0.113')
  assert.equal(subnetOf(['/ip4/127.0.0.1/tcp/4001', '/ip4/0.0.0.0/tcp/1', '/ip4/169.254.3.4/tcp/1', '/ip4/10.1.2.3/tcp/4001']), 'ip4:10.1.2')
  assert.equal(subnetOf(['/ip6/2001:db8:abcd:12::1/tcp/4001']), 'ip6:2001:db8:abcd')
  assert.equal(subnetOf(['/ip6/2001:0db8::1/tcp/4001']), 'ip6:2001:db8:0', 'zeros expanded and leading zeros dropped')
  assert.equal(subnetOf(['/ip6/::1/tcp/1', '/ip6/fe80::1/tcp/1']), undefined)
  assert.equal(subnetOf(['/dns4/example.com/tcp/1', '/ip6/not:an:address::x/tcp/1']), undefined)
  assert.equal(subnetOf(undefined), undefined)
  assert.equal(subnetOf([]), undefined)
})
