/** "Did you mean X?": the registered names closest to what was typed. */

/** Optimal string alignment distance (Levenshtein plus transpositions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  // Three rows of the table (the transposition looks two rows back): no table per call to collect.
  let prev2 = new Int32Array(b.length + 1);
  let prev = Int32Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length];
}

/**
 * Names within a distance that grows with the length of the word (a third of it, at least 2),
 * closest first; a case-insensitive prefix match counts as close too ("Res" -> "ResNet").
 */
export function closestNames(word: string, candidates: Iterable<string>, max = 3): string[] {
  const limit = Math.max(2, Math.floor(word.length / 3));
  const scored: Array<[string, number]> = [];
  for (const c of candidates) {
    const prefix = word.length >= 3 && c.toLowerCase().startsWith(word.toLowerCase());
    // The distance is at least the difference in length: skip the table (a 5 MB word would take gigabytes).
    if (Math.abs(word.length - c.length) > limit) {
      if (prefix) scored.push([c, limit]);
      continue;
    }
    let dist = editDistance(word, c);
    if (dist > limit && prefix) dist = limit;
    if (dist <= limit) scored.push([c, dist]);
  }
  scored.sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
  return scored.slice(0, max).map(([c]) => c);
}

/** ` — did you mean "A" or "B"?` or '' when nothing is close. */
export function didYouMean(suggestions: string[]): string {
  if (suggestions.length === 0) return '';
  const quoted = suggestions.map((s) => `"${s}"`);
  const list = quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
  return ` — did you mean ${list}?`;
}
