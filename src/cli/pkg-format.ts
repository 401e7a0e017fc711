/**
 * How `agora pkg` shows packages to people: table columns and record views.
 * Machine formats (--json, --yaml) get the API's objects whole instead.
 */
import type { InstalledPackage, PackageInfo, PublishResult, SearchResult, VerifyReport } from '../client/packages-schemas.ts'
import type { Column } from './output.ts'
import { formatSize } from './progress.ts'

const DESCRIPTION_CHARS = 48

/** 12D3KooWAbCd…wxyz: long enough to tell keys apart in a table. */
export function shortPeer (peerId: string): string {
  return peerId.length <= 20 ? peerId : `${peerId.slice(0, 12)}…${peerId.slice(-4)}`
}

function clip (text: string, chars: number): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length <= chars ? line : `${line.slice(0, chars - 1)}…`
}

type Found = SearchResult['results'][number]

export const searchColumns: Array<Column<Found>> = [
  { header: 'name', value: r => r.name },
  { header: 'version', value: r => r.version },
  { header: 'kind', value: r => r.kind },
  { header: 'publisher', value: r => shortPeer(r.publisher) },
  { header: 'description', value: r => clip(r.description, DESCRIPTION_CHARS) },
  { header: 'providers', value: r => r.providers },
  { header: 'size', value: r => formatSize(r.size) }
]

/** "3 results · 4 peers asked, 3 answered · 212 ms" */
export function searchSummary (result: SearchResult): string {
  const n = result.results.length
  return `${n} result${n === 1 ? '' : 's'} · ${result.peersAsked} peer${result.peersAsked === 1 ? '' : 's'} asked, ${result.peersAnswered} answered · ${Math.round(result.elapsedMs)} ms`
}

export function infoView (info: PackageInfo): Record<string, unknown> {
  const { summary, manifest, installed } = info
  return {
    name: `${summary.name}@${summary.version}`,
    kind: summary.kind,
    description: summary.description === '' ? undefined : summary.description,
    license: summary.license === '' ? undefined : summary.license,
    tags: summary.tags.length === 0 ? undefined : summary.tags.join(', '),
    publisher: `${summary.publisher} (reputation ${summary.publisherReputation.toFixed(2)})`,
    cid: summary.cid,
    size: formatSize(summary.size),
    files: manifest.files.map(f => `${f.path}  ${formatSize(f.size)}  ${f.cid}`),
    ...(Object.keys(manifest.dependencies).length === 0 ? {} : { dependencies: Object.entries(manifest.dependencies).map(([name, range]) => `${name}@${range}`) }),
    ...(manifest.compat === undefined ? {} : { compat: Object.entries(manifest.compat).map(([k, v]) => `${k}: ${String(v)}`) }),
    providers: summary.providers,
    created: new Date(summary.created).toISOString(),
    installed: installed === undefined ? 'no' : `${installed.state}${installed.pinned ? ', pinned' : ''} — ${installed.dir}`,
    versions: info.versions.join(', ')
  }
}

export const installedColumns: Array<Column<InstalledPackage>> = [
  { header: 'name', value: p => p.name },
  { header: 'version', value: p => p.version },
  { header: 'size', value: p => formatSize(p.size) },
  { header: 'pinned', value: p => p.pinned ? 'yes' : '' },
  { header: 'state', value: p => p.state },
  { header: 'used', value: p => new Date(p.usedAt).toISOString() },
  { header: 'cid', value: p => p.cid }
]

export function installedView (p: InstalledPackage): Record<string, unknown> {
  return {
    package: `${p.name}@${p.version}`,
    state: p.state,
    pinned: p.pinned ? 'yes' : 'no',
    size: formatSize(p.size),
    files: p.dir,
    cid: p.cid
  }
}

export function publishedView (result: PublishResult): Record<string, unknown> {
  return {
    published: `${result.manifest.name}@${result.manifest.version}`,
    kind: result.manifest.kind,
    cid: result.cid,
    files: result.manifest.files.length,
    size: formatSize(result.size),
    announced: `to ${result.recipients} peer${result.recipients === 1 ? '' : 's'}`
  }
}

export const verifyColumns: Array<Column<VerifyReport>> = [
  { header: 'package', value: r => `${r.name}@${r.version}` },
  { header: 'ok', value: r => r.ok ? 'ok' : 'DAMAGED' },
  { header: 'bad files', value: r => r.bad.join(', ') },
  { header: 'cid', value: r => r.cid }
]
