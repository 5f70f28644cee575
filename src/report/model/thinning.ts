/**
 * A split's metric rows, bounded: what the dashboard keeps of a run that logs every iteration for
 * millions of iterations (the extension host's RunFeed, the page's series store, `cvw report`'s
 * curves). Like TensorBoard (a bounded sample of each scalar, the latest always) and W&B (~1500
 * points per chart), but deterministic, so that a snapshot followed by appended batches gives
 * exactly what one read of the whole file gives:
 *
 * - Rows are told apart by kind: the set of columns a row has (a training line, a line that adds
 *   `skipped_items` once an epoch, a line whose loss was NaN and so is missing). Each kind is a
 *   stream with its own count of rows read, so a rare kind is never thinned by a frequent one.
 * - A stream keeps the rows whose ordinal (its n-th row, from 0) is a multiple of its stride, plus
 *   its newest row. The stride starts at 1 (every row) and doubles whenever more than `cap`
 *   ordinals would be kept, dropping every other kept row: old and new parts of the run stay
 *   evenly sampled, and a stream holds between cap/2 and cap + 1 rows once it is thinned.
 * - The stride is a function of the rows read alone (`strideFor`), and which rows are kept a
 *   function of the ordinals: batching does not matter, and a page handed a thinned table plus
 *   the streams' counts (`MetricTable.thinned`) continues exactly where the host was.
 * - A stream below the cap keeps every row: an evaluation split (a few hundred evaluations) and
 *   rare rows are never thinned; the last value of every column is always kept (the newest row of
 *   the stream it belongs to).
 * - Every kept row holds a value of each of its split's columns, so a wide split keeps fewer rows
 *   per stream (capFor): the cap halves as columns and kinds of row arrive, a function of the rows
 *   read like the stride. Which splits and columns there are at all is bounded before (metrics.ts
 *   MetricKeys, through appendRecords).
 *
 * Final and best values must not come from here (they would miss the left-out rows): the runs
 * table sums every record (runsTableModel summarizeMetrics), the report uses run.json.
 *
 * Browser-safe (no Node imports): the extension host, the webviews and `cvw report` share it.
 */
import { MetricKeys, toMetricTables, type MetricRecord, type MetricTable, type ThinnedInfo } from './metrics';

/**
 * Ordinals kept per stream before its stride doubles. A chart is at most ~2000 pixels wide and
 * draws up to four points per pixel column (MinMaxPyramid); 2048 to 4096 rows keep at least one
 * row per pixel of a full-width chart and a few hundred rows when zoomed into a tenth of a run,
 * for ~400 KB per table of a dozen columns (in the host and again in the page), where a million
 * rows took ~100 MB in each. TensorBoard keeps 1000 per scalar, W&B draws ~1500.
 */
export const METRIC_ROW_CAP = 4096;

/** Kinds of row told apart per split; rows of any further kind share one last stream. */
export const MAX_STREAMS = 8;

/**
 * Values a split's kept rows may hold (every row holds one per column of its split): the cap per
 * stream halves, down to MIN_ROW_CAP, while cap x columns x streams is above it. A training split
 * of a few dozen columns in one or two kinds of row keeps the whole cap; a hand-made file of 256
 * columns in nine kinds of row keeps 128 rows of each, a few MiB instead of a gigabyte.
 */
export const METRIC_CELLS = 1 << 18;
const MIN_ROW_CAP = 128;

/** The rows kept per stream of a split of `columns` columns and `streams` kinds of row, under `cap`. */
export function capFor(cap: number, columns: number, streams: number): number {
  let c = cap;
  const width = Math.max(1, columns) * Math.max(1, streams);
  while (c > MIN_ROW_CAP && c * width > METRIC_CELLS) c = Math.max(MIN_ROW_CAP, c >> 1);
  return c;
}

/** The smallest power-of-two stride that keeps at most `cap` of `rows` ordinals (0, k, 2k, ...). */
export function strideFor(rows: number, cap: number): number {
  let k = 1;
  while (Math.ceil(rows / k) > cap) k *= 2;
  return k;
}

/** A Float64Array that grows by doubling; `values` is a view of the first `length`. */
export class GrowableColumn {
  private buf: Float64Array;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Float64Array(Math.max(16, capacity));
  }

  /** The values so far (a view; valid until the next append). */
  get values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }

  at(i: number): number {
    return this.buf[i];
  }

  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    let cap = this.buf.length;
    while (cap < n) cap *= 2;
    const next = new Float64Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  push(values: ArrayLike<number>): void {
    this.reserve(this.length + values.length);
    this.buf.set(values as ArrayLike<number>, this.length);
    this.length += values.length;
  }

  pushOne(value: number): void {
    this.reserve(this.length + 1);
    this.buf[this.length++] = value;
  }

  pushFill(value: number, count: number): void {
    this.reserve(this.length + count);
    this.buf.fill(value, this.length, this.length + count);
    this.length += count;
  }

  /** Keep the rows whose `alive` flag is set, in order (in place: views taken before are stale). */
  compact(alive: Uint8Array, n: number): void {
    let w = 0;
    for (let i = 0; i < n; i++) if (alive[i]) this.buf[w++] = this.buf[i];
    this.length = w;
  }
}

interface Stream {
  /** Sorted column names of its rows; undefined for the stream of every further kind. */
  columns?: string[];
  /** Rows read of this kind. */
  rows: number;
  stride: number;
  /** Index of its newest row when that row is off the stride (dropped once the next one comes), else -1. */
  tail: number;
}

/** One split's rows (`train`, `val`, ...), column by column, thinned past `cap` rows per kind of row. */
export class MetricRows {
  length = 0;
  /** Rows read, kept or not. */
  rows = 0;
  /** Bumped on every append, so views can tell they are stale. */
  version = 0;
  /** Bumped whenever kept rows were dropped (not only added at the end): indexes built on the rows are stale. */
  rewrites = 0;
  private readonly cols = new Map<string, GrowableColumn>();
  private streams: Stream[] = [];
  private readonly bySignature = new Map<string, number>();
  private other = -1;
  /** Rows read with a value of each column. */
  private readonly counts = new Map<string, number>();
  /** keptWith's counts at `version`. */
  private kept = { version: -1, counts: new Map<string, number>() };
  /** The cap per stream now (capFor: lower once the split is wide). */
  private limit: number;
  /** Per kept row: its stream and its ordinal in it (while `alive`). */
  private rowStream = new Int32Array(64);
  private rowOrdinal = new Float64Array(64);
  private alive = new Uint8Array(64);
  private dead = 0;

  constructor(
    readonly split: string,
    private cap = METRIC_ROW_CAP,
  ) {
    this.limit = cap;
  }

  keys(): string[] {
    return [...this.cols.keys()];
  }

  has(key: string): boolean {
    return this.cols.has(key);
  }

  column(key: string): GrowableColumn | undefined {
    return this.cols.get(key);
  }

  /** The values of `key` (NaN where a row lacks it); empty when no row has it. */
  values(key: string): Float64Array {
    return this.cols.get(key)?.values ?? new Float64Array(0);
  }

  /** Rows read with a value of `key`, kept or not. */
  rowsWith(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Kept rows with a value of `key` (counted once per version: a chart asks on every redraw). */
  keptWith(key: string): number {
    if (this.kept.version !== this.version) this.kept = { version: this.version, counts: new Map() };
    let n = this.kept.counts.get(key);
    if (n === undefined) {
      const c = this.cols.get(key);
      n = 0;
      if (c) for (let i = 0; i < c.length; i++) if (c.at(i) === c.at(i)) n++;
      this.kept.counts.set(key, n);
    }
    return n;
  }

  /** Whether rows were left out. */
  get thinned(): boolean {
    return this.rows > this.length;
  }

  /**
   * Add `table`'s rows, as read after those before. A table that is itself a thinned sample
   * (`table.thinned`, a snapshot) is taken as the state to continue from when nothing was added yet.
   */
  append(table: MetricTable): void {
    if (table.length <= 0) return;
    if (table.thinned && this.rows === 0 && this.restore(table)) {
      this.version++;
      return;
    }
    const n = table.length;
    // The columns with a value, each with the row of its first: a column counts towards the
    // split's width (capFor) from that row on, as if the rows were read one by one.
    const names: string[] = [];
    const src: Float64Array[] = [];
    const firsts: number[] = [];
    for (const [k, c] of Object.entries(table.columns)) {
      const values = c.length === n ? c : c.subarray(0, n);
      let first = -1;
      let count = 0;
      for (let i = 0; i < n; i++) {
        if (values[i] !== values[i]) continue;
        count++;
        if (first < 0) first = i;
      }
      if (first < 0) continue;
      if (!this.cols.has(k)) firsts.push(first);
      this.counts.set(k, (this.counts.get(k) ?? 0) + count);
      names.push(k);
      src.push(values);
    }
    firsts.sort((a, b) => a - b);
    let width = this.cols.size;
    for (const k of names) this.columnFor(k);
    const dst = names.map((k) => this.cols.get(k)!);
    const missing = [...this.cols.values()].filter((c) => !dst.includes(c));
    // Each row's stream, and the last row of each stream in this table: an off-stride row that is
    // not its stream's last is dropped by the next one anyway, so it is never copied.
    let kinds = this.streams.length;
    const sid = this.streamsOf(names, src, n);
    const last = new Map<number, number>();
    for (let i = 0; i < n; i++) last.set(sid[i], i);
    for (let i = 0, f = 0; i < n; i++) {
      for (; f < firsts.length && firsts[f] <= i; f++) width++;
      kinds = Math.max(kinds, sid[i] + 1);
      this.narrow(capFor(this.cap, width, kinds));
      const s = this.streams[sid[i]];
      const ordinal = s.rows++;
      this.rows++;
      if (s.tail >= 0) this.drop(s, s.tail);
      const on = ordinal % s.stride === 0;
      if (!on && last.get(sid[i]) !== i) continue;
      const at = this.length;
      for (let j = 0; j < dst.length; j++) dst[j].pushOne(src[j][i]);
      for (const c of missing) c.pushOne(NaN);
      this.pushRow(sid[i], ordinal);
      if (!on) s.tail = at;
      else if (Math.ceil(s.rows / s.stride) > this.limit) this.widen(sid[i]);
      if (this.dead > 64 && this.dead * 2 > this.length) this.compact();
    }
    if (this.dead) this.compact();
    this.version++;
  }

  /** The rows as a table (copies), with what was left out when rows were. */
  toTable(): MetricTable {
    const columns: Record<string, Float64Array> = {};
    for (const [k, c] of this.cols) columns[k] = c.values.slice();
    const table: MetricTable = { split: this.split, length: this.length, columns };
    if (this.thinned) table.thinned = this.info();
    return table;
  }

  private info(): ThinnedInfo {
    return {
      cap: this.cap,
      rows: this.rows,
      streams: this.streams.map((s) => (s.columns ? { columns: [...s.columns], rows: s.rows } : { rows: s.rows })),
      counts: Object.fromEntries(this.counts),
    };
  }

  /** Lower the cap per stream to `limit` (the split grew wider): every stream's stride follows. */
  private narrow(limit: number): void {
    if (limit >= this.limit) return;
    this.limit = limit;
    for (let k = 0; k < this.streams.length; k++) this.widen(k);
  }

  private columnFor(key: string): GrowableColumn {
    let c = this.cols.get(key);
    if (!c) {
      c = new GrowableColumn(Math.max(256, this.length * 2));
      c.pushFill(NaN, this.length);
      this.cols.set(key, c);
    }
    return c;
  }

  /** The stream of each of `n` rows: by the set of columns a row has a value in. */
  private streamsOf(names: string[], cols: Float64Array[], n: number): Int32Array {
    const out = new Int32Array(n);
    const byPattern = new Map<number | string, number>();
    const narrow = cols.length <= 30;
    for (let i = 0; i < n; i++) {
      let pattern: number | string;
      if (narrow) {
        let m = 0;
        for (let j = 0; j < cols.length; j++) if (cols[j][i] === cols[j][i]) m |= 1 << j;
        pattern = m;
      } else {
        let p = '';
        for (let j = 0; j < cols.length; j++) if (cols[j][i] === cols[j][i]) p += `${j},`;
        pattern = p;
      }
      let s = byPattern.get(pattern);
      if (s === undefined) {
        const present = names.filter((_k, j) => cols[j][i] === cols[j][i]).sort();
        byPattern.set(pattern, (s = this.streamFor(present, true)!));
      }
      out[i] = s;
    }
    return out;
  }

  /** The stream of rows with `columns` (sorted); a new one when `create`, else undefined when unknown. */
  private streamFor(columns: string[], create: boolean): number | undefined {
    const signature = columns.join('\u0000');
    const known = this.bySignature.get(signature);
    if (known !== undefined) return known;
    if (this.streams.length < MAX_STREAMS && create) {
      this.streams.push({ columns, rows: 0, stride: 1, tail: -1 });
      this.bySignature.set(signature, this.streams.length - 1);
      return this.streams.length - 1;
    }
    if (this.other < 0 && create) {
      this.streams.push({ rows: 0, stride: 1, tail: -1 });
      this.other = this.streams.length - 1;
    }
    return this.other < 0 ? undefined : this.other;
  }

  private pushRow(stream: number, ordinal: number): void {
    const at = this.length;
    if (at >= this.alive.length) {
      const cap = this.alive.length * 2;
      const st = new Int32Array(cap);
      st.set(this.rowStream);
      this.rowStream = st;
      const ord = new Float64Array(cap);
      ord.set(this.rowOrdinal);
      this.rowOrdinal = ord;
      const al = new Uint8Array(cap);
      al.set(this.alive);
      this.alive = al;
    }
    this.rowStream[at] = stream;
    this.rowOrdinal[at] = ordinal;
    this.alive[at] = 1;
    this.length++;
  }

  private drop(s: Stream, row: number): void {
    if (s.tail === row) s.tail = -1;
    if (this.alive[row]) {
      this.alive[row] = 0;
      this.dead++;
    }
  }

  /** Double the stream's stride until it keeps at most `cap` ordinals; drop the rows now off it (not its newest). */
  private widen(stream: number): void {
    const s = this.streams[stream];
    const stride = strideFor(s.rows, this.limit);
    if (stride === s.stride) return;
    s.stride = stride;
    const newest = s.rows - 1;
    for (let r = 0; r < this.length; r++) {
      if (!this.alive[r] || this.rowStream[r] !== stream) continue;
      const o = this.rowOrdinal[r];
      if (o % stride === 0) continue;
      if (o === newest) s.tail = r;
      else this.drop(s, r);
    }
  }

  /** Remove the dropped rows. */
  private compact(): void {
    if (!this.dead) return;
    const n = this.length;
    for (const c of this.cols.values()) c.compact(this.alive, n);
    const remap = new Int32Array(n);
    let w = 0;
    for (let r = 0; r < n; r++) {
      remap[r] = w;
      if (!this.alive[r]) continue;
      this.rowStream[w] = this.rowStream[r];
      this.rowOrdinal[w] = this.rowOrdinal[r];
      w++;
    }
    for (const s of this.streams) if (s.tail >= 0) s.tail = remap[s.tail];
    this.alive.fill(1, 0, w);
    this.alive.fill(0, w, n);
    this.length = w;
    this.dead = 0;
    this.rewrites++;
  }

  /**
   * Take a thinned table (a snapshot of another MetricRows) as this one's state: its rows, and per
   * stream the rows read, from which the stride and each kept row's ordinal follow. False (nothing
   * changed) when the table does not add up, so that it is read as plain rows instead.
   */
  private restore(table: MetricTable): boolean {
    const info = table.thinned!;
    const cap = info.cap;
    if (!Number.isInteger(cap) || cap < 2 || cap > 1 << 24 || !Array.isArray(info.streams) || info.streams.length > MAX_STREAMS + 1) return false;
    const names = Object.keys(table.columns);
    const counts = info.counts;
    if (!counts || typeof counts !== 'object' || !names.every((k) => Number.isInteger(counts[k]) && counts[k] >= 0)) return false;
    const limit = capFor(cap, names.length, info.streams.length);
    const streams: Stream[] = [];
    const bySignature = new Map<string, number>();
    let other = -1;
    let total = 0;
    for (const s of info.streams) {
      if (!Number.isInteger(s.rows) || s.rows < 1) return false;
      const stride = strideFor(s.rows, limit);
      if (s.columns) {
        if (!Array.isArray(s.columns) || !s.columns.every((c) => typeof c === 'string')) return false;
        const columns = [...s.columns].sort();
        const signature = columns.join('\u0000');
        if (bySignature.has(signature)) return false;
        bySignature.set(signature, streams.length);
        streams.push({ columns, rows: s.rows, stride, tail: -1 });
      } else {
        if (other >= 0) return false;
        other = streams.length;
        streams.push({ rows: s.rows, stride, tail: -1 });
      }
      total += s.rows;
    }
    if (total !== info.rows) return false;
    // Which stream each kept row is of, and its ordinal: the j-th kept row of a stream is ordinal
    // j * stride, but for its newest row when that one is off the stride.
    const n = table.length;
    const cols = names.map((k) => table.columns[k]);
    const sid = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const present = names.filter((_k, j) => cols[j][i] === cols[j][i]).sort().join('\u0000');
      const s = bySignature.get(present) ?? other;
      if (s < 0) return false;
      sid[i] = s;
    }
    const ordinal = new Float64Array(n);
    const seen = new Array<number>(streams.length).fill(0);
    for (let i = 0; i < n; i++) ordinal[i] = seen[sid[i]]++ * streams[sid[i]].stride;
    const lastRow = new Array<number>(streams.length).fill(-1);
    for (let i = 0; i < n; i++) lastRow[sid[i]] = i;
    for (const [k, s] of streams.entries()) {
      const onStride = Math.ceil(s.rows / s.stride);
      const offTail = (s.rows - 1) % s.stride !== 0;
      if (seen[k] !== onStride + (offTail ? 1 : 0)) return false;
      if (offTail) {
        ordinal[lastRow[k]] = s.rows - 1;
        s.tail = lastRow[k];
      }
    }
    this.cap = cap;
    this.limit = limit;
    for (const k of names) this.counts.set(k, counts[k]);
    this.streams = streams;
    for (const [sig, k] of bySignature) this.bySignature.set(sig, k);
    this.other = other;
    for (const [j, k] of names.entries()) {
      const c = new GrowableColumn(Math.max(256, n * 2));
      c.push(cols[j].length === n ? cols[j] : cols[j].subarray(0, n));
      this.cols.set(k, c);
    }
    this.rowStream = new Int32Array(Math.max(64, n * 2));
    this.rowStream.set(sid);
    this.rowOrdinal = new Float64Array(Math.max(64, n * 2));
    this.rowOrdinal.set(ordinal);
    this.alive = new Uint8Array(Math.max(64, n * 2));
    this.alive.fill(1, 0, n);
    this.length = n;
    this.rows = info.rows;
    return true;
  }
}

/** A run's splits, each kept as MetricRows, in order of first appearance. */
export class MetricSplits {
  private readonly splits = new Map<string, MetricRows>();
  /** The splits and columns kept of the records appended (appendRecords). */
  private readonly keys = new MetricKeys();

  constructor(private readonly cap = METRIC_ROW_CAP) {}

  /** Numeric values of the records appended that were left out (MetricKeys: too many splits or columns). */
  get leftOut(): number {
    return this.keys.leftOut;
  }

  /** Add records read after those before; returns them as the tables appended (for a page that keeps its own copy). */
  appendRecords(records: readonly MetricRecord[]): MetricTable[] {
    const tables = toMetricTables(records, this.keys);
    this.append(tables);
    return tables;
  }

  /** Add tables of rows read after those before (any splits, one table per split or several). */
  append(tables: readonly MetricTable[]): void {
    for (const t of tables) {
      let rows = this.splits.get(t.split);
      if (!rows) this.splits.set(t.split, (rows = new MetricRows(t.split, this.cap)));
      rows.append(t);
    }
  }

  split(name: string): MetricRows | undefined {
    return this.splits.get(name);
  }

  all(): MetricRows[] {
    return [...this.splits.values()];
  }

  /** The rows kept, one table per split (copies; `thinned` where rows were left out). */
  tables(): MetricTable[] {
    return [...this.splits.values()].map((r) => r.toTable());
  }
}

/** Tables (of all the rows read, in order) thinned as MetricRows keeps them: one per split. */
export function thinTables(tables: readonly MetricTable[], cap = METRIC_ROW_CAP): MetricTable[] {
  const splits = new MetricSplits(cap);
  splits.append(tables);
  return splits.tables();
}
