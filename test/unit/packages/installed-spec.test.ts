/**
 * Which installed package a spec names: a manifest CID in any base names
 * the install stored under its canonical string; a name, the most recently
 * used version; a range, the highest installed version satisfying it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { findInstalled } from '../../../src/packages/install/installed-spec.ts'
import { InstallsRepository } from '../../../src/packages/install/installs-repository.ts'
import { openStore } from '../../../src/store/index.ts'
import { isCode } from '../../harness/checks.ts'

const V1 = 'bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
const V2 = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'

test('a CID in another base, a name and a range each find their install', () => {
  const store = openStore(':memory:')
  try {
    const installs = new InstallsRepository(store.db.sqlite)
    installs.begin({ cid: V1, name: 'acme/x', version: '1.0.0', dir: '/p/1', size: 1, pinned: false }, 1)
    installs.begin({ cid: V2, name: 'acme/x', version: '1.2.0', dir: '/p/2', size: 1, pinned: false }, 2)
    assert.equal(findInstalled(installs, CID.parse(V1).toString(base58btc)).cid, V1)
    assert.equal(findInstalled(installs, 'acme/x').cid, V2)
    assert.equal(findInstalled(installs, 'acme/x@~1.0').cid, V1)
    assert.throws(() => findInstalled(installs, 'acme/y'), isCode('E1448'))
  } finally {
    store.close()
  }
})
