/**
 * Tables of a Markdown document (BENCHMARKS.md): each GitHub-style pipe table with the heading it
 * sits under, cells as text and, where a cell reads as a number (`12.3`, `1,234`, `0.13x`,
 * `21 ms`), as a number too — so the benchmarks panel can sort columns and draw them as bars.
 * Browser-safe.
 */

export interface MarkdownTable {
  /** The nearest heading above the table (`Engine / ResNet-18 step`), or '' when none. */
  title: string;
  /** The line of the table's header row (1-based), to open the document there. */
  line: number;
  header: string[];
  rows: string[][];
}

const ENTITIES: Record<string, string> = { nbsp: '\u00a0', amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", times: '×', middot: '·', mdash: '—', ndash: '–' };

/** The text of a cell with its HTML entities (`&nbsp;`, `&amp;`, `&#215;`) decoded, as a reader of the rendered page sees it. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+\d*);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1));
      // A code point past Unicode's last (0x10FFFF) would throw, and with it the whole file's tables.
      return Number.isInteger(code) && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    const name = e.toLowerCase();
    // Own names only: `&constructor;` would decode to Object's source text.
    return Object.hasOwn(ENTITIES, name) ? ENTITIES[name] : m;
  });
}

/** Split one table row into trimmed cells (escaped pipes `\|` and pipes inside backticks stay). */
export function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells: string[] = [];
  let cur = '';
  let code = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && s[i + 1] === '|') {
      cur += '|';
      i++;
    } else if (c === '`') {
      code = !code;
      cur += c;
    } else if (c === '|' && !code) {
      cells.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  cells.push(cur.trim());
  return cells;
}

/**
 * Whether `line` is a table's delimiter row (`|---|:--:|`), cell by cell: the one pattern for the
 * whole row backtracked quadratically on a long run of spaces (a 1 MB line took minutes).
 */
function isDelimiterRow(line: string): boolean {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|')) s = s.slice(0, -1);
  return s.split('|').every((cell) => /^:?-+:?$/.test(cell.trim()));
}

/**
 * An ATX heading's level and text (`## Title ##` is [2, 'Title']), trimmed by hand: the pattern
 * /^(#{1,6})\s+(.*?)\s*#*\s*$/ backtracked cubically (4,000 spaces inside a heading took 11 s).
 */
function heading(line: string): [number, string] | undefined {
  const level = /^(#{1,6})\s/.exec(line)?.[1].length;
  if (level === undefined) return undefined;
  const space = (i: number) => /\s/.test(line[i]);
  let start = level;
  let end = line.length;
  while (end > start && space(end - 1)) end--;
  while (end > start && line[end - 1] === '#') end--;
  while (end > start && space(end - 1)) end--;
  while (start < end && space(start)) start++;
  return [level, line.slice(start, end)];
}

/** Every pipe table of `markdown`, with the heading above it. */
export function parseMarkdownTables(markdown: string): MarkdownTable[] {
  const lines = markdown.split(/\r?\n/);
  const tables: MarkdownTable[] = [];
  const headings: string[] = [];
  let fence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    if (fence) continue;
    const h = heading(line);
    if (h) {
      headings.length = h[0] - 1;
      headings[h[0] - 1] = h[1];
      continue;
    }
    if (!line.includes('|') || i + 1 >= lines.length || !isDelimiterRow(lines[i + 1])) continue;
    const header = splitRow(line).map(decodeEntities);
    const rows: string[][] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j].includes('|') && lines[j].trim() !== ''; j++) {
      const cells = splitRow(lines[j]).map(decodeEntities);
      while (cells.length < header.length) cells.push('');
      rows.push(cells.slice(0, header.length));
    }
    tables.push({ title: headings.filter(Boolean).join(' / '), line: i + 1, header, rows });
    i = j - 1;
  }
  return tables;
}

/**
 * The number a table cell shows, or undefined: `1,234.5` → 1234.5, `0.13x` → 0.13, `21 ms` → 21,
 * `**4.7**` → 4.7, `95.2 %` → 95.2. Text with more than one number (`4.7 / 11.2`) is not a number.
 */
export function cellNumber(cell: string): number | undefined {
  const s = cell.replace(/[*_`]/g, '').trim();
  const m = /^([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?)\s*(?:x|×|%|[a-zA-Zµ/]+(?:\/[a-zA-Z]+)?)?$/.exec(s);
  if (!m) return undefined;
  const v = Number(m[1].replace(/,/g, ''));
  return Number.isFinite(v) ? v : undefined;
}
