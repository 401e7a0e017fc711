/** What `agora start` tells a person: who and where, the next steps on a fresh data dir, and plainly when it is alone. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connectivityNote, startBanner } from '../../../src/daemon/banner.ts'

const node = { peerId: '12D3KooWExample', apiUrl: 'http://127.0.0.1:8145' }

test('the banner names the peer id and both APIs; only a fresh data dir gets the three next steps', () => {
  const fresh = startBanner(node, true)
  assert.match(fresh, /^agora node 12D3KooWExample\n/)
  assert.match(fresh, /API +http:\/\/127\.0\.0\.1:8145\/api\/v1/)
  assert.match(fresh, /OpenAI API +http:\/\/127\.0\.0\.1:8145\/v1\n/)
  for (const step of [/1\. connect a peer: +agora join <invite>.*agora peers connect/, /2\. add an engine: +agora providers add/, /3\. try it: +agora embed/, /or see a whole swarm: +agora demo .*agora demo --stop/]) assert.match(fresh, step)
  assert.doesNotMatch(startBanner(node, false), /Next:/)
})

test('a first start without bootstrap peers says how to find some: an invite, or mDNS on the LAN', () => {
  const line = 'no bootstrap peers — join with an invite (`agora join <invite>`), or find LAN peers by mDNS'
  assert.ok(startBanner(node, true, 0).endsWith(`\n\n${line}\n`))
  assert.ok(!startBanner(node, true, 2).includes(line), 'not when some are configured')
  assert.ok(!startBanner(node, false, 0).includes(line), 'not on later starts (the alone note covers those)')
})

test('alone: says so plainly, and why; nothing when it has peers', () => {
  assert.equal(connectivityNote(2, 0, true), undefined)
  assert.match(connectivityNote(0, 0, true) ?? '', /^alone: no bootstrap peers, and mDNS found nobody on this network yet — join with an invite \(`agora join <invite>`\), or find LAN peers by mDNS/)
  assert.match(connectivityNote(0, 0, false) ?? '', /join with an invite .*or turn mDNS on/)
  assert.match(connectivityNote(0, 3, true) ?? '', /^alone: none of the 3 bootstrap peers answered/)
})
