/** Small formatting helpers shared by messages. */

/** `"3" (a string)`, `19`, `a list`, `a mapping`, `nothing` — for "expected X, got Y". */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `${JSON.stringify(v)} (a string)`;
  return JSON.stringify(v);
}
