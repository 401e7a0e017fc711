/**
 * Which installed package a spec names: a manifest CID, `publisher/name`
 * (the most recently used version), `publisher/name@<version or range>`
 * (the highest installed version that satisfies it).
 */
import semver from 'semver'
import { CID } from 'multiformats/cid'
import { AgoraError } from '../../errors.ts'
import type { InstalledPackage } from '../types.ts'
import type { InstallsRepository } from './installs-repository.ts'

export function findInstalled (installs: InstallsRepository, spec: string): InstalledPackage {
  const found = lookup(installs, spec)
  if (found === undefined) throw new AgoraError('E1448', `${spec} is not installed`, { details: { spec } })
  return found
}

function lookup (installs: InstallsRepository, spec: string): InstalledPackage | undefined {
  // any base or version of the CID names the same install (rows hold the canonical string)
  if (isCid(spec)) return installs.get(CID.parse(spec).toString())
  const at = spec.indexOf('@')
  const name = at === -1 ? spec : spec.slice(0, at)
  const range = at === -1 ? undefined : spec.slice(at + 1)
  const versions = installs.byName(name)
  if (range === undefined) return versions[0]
  return versions
    .filter(pkg => semver.satisfies(pkg.version, range))
    .sort((a, b) => semver.rcompare(a.version, b.version))[0]
}

function isCid (spec: string): boolean {
  if (spec.includes('/')) return false
  try { CID.parse(spec); return true } catch { return false }
}
