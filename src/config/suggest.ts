/**
 * "Did you mean …?" for misspelt keys: the nearest candidate by edit
 * distance. The key set is small (tens of keys), so a plain dynamic
 * programme is fast enough and saves a dependency.
 */

/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
export function editDistance (a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j)
  for (let i = 1; i <= s.length; i++) {
    const row = [i]
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost)
    }
    prev = row
  }
  return prev[t.length] ?? 0
}

/**
 * The candidate nearest to `input`, if it is near enough to be a likely
 * typo: at most a third of the input's length away (and at least 2 edits
 * are always allowed). Ties go to the earlier candidate.
 */
export function nearest (input: string, candidates: Iterable<string>, maxDistance = Math.max(2, Math.floor(input.length / 3))): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const d = editDistance(input, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= maxDistance ? best : undefined
}
