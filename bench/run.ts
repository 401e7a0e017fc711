/**
 * `npm run bench`: runs every bench/*.bench.ts in its own process, one after
 * another (they measure timing, so never in parallel), and fails when a bar
 * is missed. `npm run bench -- envelope` runs only the named ones.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RESULTS_DIR, type BenchRow } from './lib.ts'

const here = dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const files = readdirSync(here).filter(f => f.endsWith('.bench.ts')).filter(f => only.length === 0 || only.some(o => f.includes(o))).sort()
let failed = 0
for (const file of files) {
  const result = spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit' })
  if (result.status !== 0) { failed++; continue }
  const name = file.replace(/\.bench\.ts$/, '')
  const json = JSON.parse(readFileSync(join(RESULTS_DIR, `${name}.json`), 'utf8')) as { rows: BenchRow[] }
  failed += json.rows.filter(r => !r.pass).length
}
console.log(`\n${files.length} benchmarks run, ${failed === 0 ? 'every bar met' : `${failed} bars missed`}`)
process.exitCode = failed === 0 ? 0 : 1
