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
  for (const step of [/1\. connect a peer: +agora peers connect/, /2\. add an engine: +agora providers add/, /3\. try it: +agora embed/]) assert.match(fresh, step)
  assert.doesNotMatch(startBanner(node, false), /Next:/)
})

test('alone: says so plainly, and why; nothing when it has peers', () => {
  assert.equal(connectivityNote(2, 0, true), undefined)
  assert.match(connectivityNote(0, 0, true) ?? '', /^alone: no bootstrap peers are configured and mDNS found nobody/)
  assert.match(connectivityNote(0, 0, false) ?? '', /or turn mDNS on/)
  assert.match(connectivityNote(0, 3, true) ?? '', /^alone: none of the 3 bootstrap peers answered/)
})
