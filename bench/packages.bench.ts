/**
 * Packages benchmark (issue 15), one module per part, run in turn:
 * 1. publish (bench/packages-publish.ts): a 256 MiB random file published
 *    by a full node — walk, UnixFS import into Helia's blockstore on disk
 *    with the plain sha256 in the same read, manifest signed, package
 *    pinned and catalogued. Bar: ≥ 0.3× `sha256sum` of the same file, same
 *    run (MB/s of both beside it, and the bare importer's);
 * 2. install (bench/packages-install.ts): 256 MiB from 2 providers over
 *    loopback — bar ≥ 100 MB/s and ≥ 0.3× a raw TCP copy of the same bytes
 *    between the same processes, same run;
 * 3. search (bench/packages-search.ts): a 10,000-package catalogue — local
 *    p50 < 20 ms (beside it a plain SELECT and a bare FTS5 MATCH), across 5
 *    nodes p95 < 500 ms (beside it the bare reqresp round trip);
 * 4. found (bench/packages-search.ts): publish → found by search on another
 *    node of 10, p95 < 2 s (beside it one hop's bare round trip).
 * Figures are medians (or the stated percentile) over BENCH_RUNS runs, by
 * the wall clock; relative bars stand beside a baseline measured in the
 * same run, since the machines are shared and noisy.
 *
 * Run: npm run bench -- packages
 * (BENCH_ONLY=publish|install|search|found runs one part — search also
 * takes local|nodes; each module's own settings are in its header.)
 */
import { report, type BenchRow } from './lib.ts'
import { installRows } from './packages-install.ts'
import { publishRows } from './packages-publish.ts'
import { searchRows } from './packages-search.ts'

const only = process.env.BENCH_ONLY ?? ''
const parts: Array<[string[], () => Promise<BenchRow[]>]> = [
  [['publish'], async () => await publishRows()],
  [['install'], async () => await installRows()],
  // searchRows reads BENCH_ONLY itself: search = local + nodes; found, local or nodes alone
  [['search', 'found', 'local', 'nodes'], async () => await searchRows()]
]

const rows: BenchRow[] = []
for (const [names, run] of parts) {
  if (only === '' || names.includes(only)) rows.push(...await run())
}
report('packages', rows)
