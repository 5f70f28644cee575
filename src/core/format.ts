/** Small formatting helpers shared by messages. */

/** Longest value echoed in a message: a config may hold megabytes in one string. */
export const ECHO_LIMIT = 80;

/** `text` cut to `max` characters with an ellipsis and the number left out. */
export function clip(text: string, max = ECHO_LIMIT): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${(text.length - max).toLocaleString('en')} more characters)`;
}

/** A string as written in messages: JSON-quoted and clipped. */
export function quoted(s: string): string {
  return clip(JSON.stringify(s));
}

/** `"3" (a string)`, `19`, `a list`, `a mapping`, `nothing` — for "expected X, got Y". */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `${quoted(v)} (a string)`;
  // JSON has no Infinity or NaN (it would say null).
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return clip(String(JSON.stringify(v)));
}

/** Bytes as decimal gigabytes to three significant digits (`12.8`, `0.02`), for messages about sizes. */
export function gigabytes(bytes: number): string {
  return (bytes / 1e9).toLocaleString('en', { maximumSignificantDigits: 3 });
}

/** Bytes in binary units to one decimal (`512 B`, `3.4 KiB`, `4.9 MiB`, `1.25 GiB`), for sizes of files. */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
