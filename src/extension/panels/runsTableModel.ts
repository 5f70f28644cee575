/**
 * The runs table's model: its rows (one per run, from run.json, config.yaml, metrics.jsonl and
 * annotations.json), its columns, the filter language, sorting and grouping. Browser-safe and
 * vscode-free: the host builds rows with it, the page (webview/src/runsTable.ts) sorts, filters and
 * groups them as a person types, and the unit tests drive it directly.
 *
 * Filter: terms separated by spaces, all of which a row must meet.
 *   status:finished          equality (case-insensitive text, numbers as numbers); `a,b` any of
 *   lr>0.01  depth<=12       <, >, <=, >= on numbers; `=` and `!=` too
 *   -status:failed           a leading `-` negates a term
 *   resnet                   a bare word: in the run's name or note
 *   best(val/loss)<0.3       a metric's best value (a bare metric name is its final value)
 * Keys: the built-in columns, a metric (`val/accuracy_top1`), a config key by its dotted path
 * (`optimizer.lr`) or by its last segment when only one key ends so (`lr`).
 *
 * Rows carry a `kind`: runs, and the entries of the run queue (work_dirs/.queue.json) that are not
 * a run yet (queued, paused, starting, failed before they started), which say what they have in
 * each column through `cellValue` and have no start, metrics or note.
 */
import type { MetricRecord } from '../../report/model/metrics';
import { BOOKKEEPING_COLUMNS, lowerIsBetter, MetricKeys, splitOf } from '../../report/model/metrics';
import { runDurationMs } from '../../rundir/duration';
import { joinArgs } from '../../runs/args';
import type { QueueEntry } from '../../runs/queueFile';

export type Scalar = string | number | boolean;

/**
 * What every row has, whatever its kind: the columns, the filter and the sort read only these.
 * A new kind (a queued run) is an interface extending this with its own `kind`, added to `TableRow`;
 * what it lacks (a start, metrics) it leaves empty, and sorts last.
 */
export interface RowBase {
  kind: string;
  /** The row's identity: an absolute run directory (another kind: its own id, never a run's). */
  dir: string;
  /** `<config-stem>/<run-id>`. */
  name: string;
  status: string;
  /** ms since the epoch; NaN when unknown. */
  startedMs: number;
  /** ms; undefined when unknown. */
  durationMs?: number;
  engine: string;
  worldSize: number;
  starred: boolean;
  note: string;
  /** The resolved config's scalar leaves by dotted path (arrays as JSON). */
  config: Record<string, Scalar>;
  /** Each metric (`split/key`) at its last record (run.json's final metrics win), and at its best. */
  final: Record<string, number>;
  best: Record<string, number>;
}

/** A run's row: a run directory of the workspace. */
export interface RunRow extends RowBase {
  kind: 'run';
}

/**
 * A queue entry not yet a run: `status` is its state (`queued`, `paused`, `starting` once the
 * runner started it and its run.json is not there yet, `failed` when it failed to start), `config`
 * holds the dotted-key overrides of its arguments.
 */
export interface QueuedRow extends RowBase {
  kind: 'queued';
  /** The workspace folder whose queue holds it, and its id there (`q3`): what the queue commands take. */
  root: string;
  queueId: string;
  /** 1-based place among the entries waiting to start (queued or paused); undefined for the others. */
  position?: number;
  /** The config as the queue stores it, and its `cvw train` arguments. */
  configFile: string;
  args: string[];
  /** Why it failed to start. */
  reason?: string;
}

/** Every kind of row the table shows. */
export type TableRow = RunRow | QueuedRow;

// ---------------------------------------------------------------------------------------------
// columns

export const BUILTIN_COLUMNS = ['name', 'status', 'start', 'duration', 'engine', 'world_size', 'starred', 'note', 'queue'] as const;
export type BuiltinColumn = (typeof BUILTIN_COLUMNS)[number];

/** The columns shown when a person has chosen none. */
export const DEFAULT_COLUMNS: readonly string[] = ['starred', 'name', 'status', 'start', 'duration', 'engine', 'world_size'];

/**
 * A column id: a built-in name, `config:<dotted.path>`, `final:<metric>` or `best:<metric>`.
 * Ids are what the page saves; labels what it shows.
 */
export type ColumnId = string;

export const configColumn = (path: string): ColumnId => `config:${path}`;
export const finalColumn = (metric: string): ColumnId => `final:${metric}`;
export const bestColumn = (metric: string): ColumnId => `best:${metric}`;

export function isBuiltin(id: string): id is BuiltinColumn {
  return (BUILTIN_COLUMNS as readonly string[]).includes(id);
}

export function columnLabel(id: ColumnId): string {
  if (id === 'world_size') return 'world size';
  if (id === 'queue') return 'queue #';
  if (id.startsWith('config:')) return id.slice(7);
  if (id.startsWith('final:')) return id.slice(6);
  if (id.startsWith('best:')) return `best(${id.slice(5)})`;
  return id;
}

/** True for columns whose values are numbers (right-aligned, compared as numbers). */
export function isNumericColumn(id: ColumnId): boolean {
  return id === 'start' || id === 'duration' || id === 'world_size' || id === 'queue' || id.startsWith('final:') || id.startsWith('best:');
}

/** A row's value in a column; undefined when it has none. */
export function cellValue(row: TableRow, id: ColumnId): Scalar | undefined {
  switch (id) {
    case 'name':
      return row.name;
    case 'status':
      return row.status;
    case 'start':
      return Number.isFinite(row.startedMs) ? row.startedMs : undefined;
    case 'duration':
      return row.durationMs;
    case 'engine':
      return row.engine || undefined;
    case 'world_size':
      return Number.isFinite(row.worldSize) ? row.worldSize : undefined;
    case 'starred':
      return row.kind === 'run' ? row.starred : undefined;
    case 'note':
      return row.note || undefined;
    case 'queue':
      return row.kind === 'queued' ? row.position : undefined;
  }
  if (id.startsWith('config:')) return own(row.config, id.slice(7));
  if (id.startsWith('final:')) return own(row.final, id.slice(6));
  if (id.startsWith('best:')) return own(row.best, id.slice(5));
  return undefined;
}

function own<T>(o: Record<string, T>, k: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

/** The config keys and metrics the rows have: what the column picker offers and filter keys resolve against. */
export interface ColumnIndex {
  configKeys: string[];
  metrics: string[];
}

export function columnIndex(rows: readonly TableRow[]): ColumnIndex {
  const config = new Set<string>();
  const metrics = new Set<string>();
  for (const r of rows) {
    for (const k in r.config) config.add(k);
    for (const k in r.final) metrics.add(k);
    for (const k in r.best) metrics.add(k);
  }
  return { configKeys: [...config].sort(), metrics: [...metrics].sort() };
}

/** Every column a person may add. */
export function allColumns(index: ColumnIndex): ColumnId[] {
  return [...BUILTIN_COLUMNS, ...index.metrics.flatMap((m) => [finalColumn(m), bestColumn(m)]), ...index.configKeys.map(configColumn)];
}

// ---------------------------------------------------------------------------------------------
// rows

/** What the host knows of a run (src/rundir RunRecord, as far as the table uses it). */
export interface RunFacts {
  dir: string;
  state: string;
  group: string;
  startedMs: number;
  endedMs?: number;
  info: { run_id: string; engine?: { backend: string }; world_size?: number; paused_s?: number; metrics?: Record<string, number> };
}

export interface MetricSummary {
  final: Record<string, number>;
  best: Record<string, number>;
}

/**
 * The last and the best finite value of every metric (`split/key`) of metrics.jsonl's records;
 * with `into`, of the records that summary was made of followed by these (it is updated in place:
 * a growing file is summarised by what was appended, not read again).
 */
export function summarizeMetrics(records: readonly MetricRecord[], into: MetricSummary = { final: {}, best: {} }, keys = new MetricKeys()): MetricSummary {
  const { final, best } = into;
  for (const r of records) {
    const split = splitOf(r);
    for (const k in r) {
      const v = r[k];
      if (typeof v !== 'number' || !keys.admits(split, k) || !Number.isFinite(v) || BOOKKEEPING_COLUMNS.has(k)) continue;
      const key = `${split}/${k}`;
      final[key] = v;
      const b = best[key];
      if (b === undefined || (lowerIsBetter(k) ? v < b : v > b)) best[key] = v;
    }
  }
  return into;
}

/** A config's scalar leaves by dotted path; arrays as JSON (clipped), empty objects skipped. */
export function flattenConfig(config: Record<string, unknown> | undefined): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  const visit = (v: unknown, prefix: string, depth: number) => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      if (prefix) out[prefix] = v;
      return;
    }
    if (Array.isArray(v)) {
      if (prefix) out[prefix] = JSON.stringify(v).slice(0, 200);
      return;
    }
    if (typeof v === 'object' && depth < 12) for (const [k, c] of Object.entries(v as Record<string, unknown>)) visit(c, prefix ? `${prefix}.${k}` : k, depth + 1);
  };
  visit(config, '', 0);
  return out;
}

export function runRow(
  run: RunFacts,
  config: Record<string, unknown> | undefined,
  metrics: MetricSummary,
  annotations: { starred: boolean; note: string },
  now: number = Date.now(),
): RunRow {
  const final = { ...metrics.final };
  // run.json's metrics (the last evaluation's), under the columns metrics.jsonl's are kept to.
  const keys = new MetricKeys();
  for (const [k, v] of Object.entries(run.info.metrics ?? {})) {
    const slash = k.indexOf('/');
    if (Number.isFinite(v) && keys.admits(k.slice(0, Math.max(slash, 0)), k.slice(slash + 1))) final[k] = v;
  }
  const end = run.endedMs ?? (run.state === 'running' ? now : undefined);
  return {
    kind: 'run',
    dir: run.dir,
    name: `${run.group}/${run.info.run_id || baseName(run.dir)}`,
    status: run.state,
    startedMs: run.startedMs,
    durationMs: end !== undefined && Number.isFinite(run.startedMs) ? runDurationMs(run.startedMs, end, run.info.paused_s) : undefined,
    engine: run.info.engine?.backend ?? '',
    worldSize: run.info.world_size ?? 1,
    starred: annotations.starred,
    note: annotations.note,
    config: flattenConfig(config),
    final,
    best: { ...metrics.best },
  };
}

/** A queue entry of a workspace folder (the Runs view's QueueItem). */
export interface QueuedItem {
  root: string;
  entry: QueueEntry;
}

/** What a queue entry's state shows as in the status column. */
const QUEUED_STATUS: Record<QueueEntry['state'], string> = { queued: 'queued', paused: 'paused', running: 'starting', failed: 'failed', done: 'done' };

/**
 * The rows of the queue entries that are not a run of the table: every entry but the done ones and
 * those whose run directory `isRun` (a started entry shows once, as its run). `idOf` gives a row's
 * identity (the host: `<queue file>#<id>`, which no run directory can be).
 */
export function queuedRows(items: readonly QueuedItem[], isRun: (runDir: string) => boolean, idOf: (root: string, id: string) => string): QueuedRow[] {
  const rows: QueuedRow[] = [];
  const waiting = new Map<string, number>();
  for (const { root, entry } of items) {
    const place = entry.state === 'queued' || entry.state === 'paused' ? (waiting.get(root) ?? 0) + 1 : undefined;
    if (place !== undefined) waiting.set(root, place);
    if (entry.state === 'done' || (entry.runDir !== undefined && isRun(entry.runDir))) continue;
    const config = overridesOf(entry.overrides);
    const backend = optionValue(entry.overrides, 'backend');
    const started = entry.started ? Date.parse(entry.started) : NaN;
    rows.push({
      kind: 'queued',
      dir: idOf(root, entry.id),
      // The config's stem, as its run's folder will be named (configStem, src/runs/manager.ts).
      name: `${baseName(entry.config).replace(/\.(ya?ml|json)$/i, '')}/${entry.id}`,
      status: QUEUED_STATUS[entry.state],
      startedMs: started,
      durationMs: undefined,
      engine: backend ?? '',
      worldSize: Number(optionValue(entry.overrides, 'nproc') ?? NaN),
      starred: false,
      note: '',
      config,
      final: {},
      best: {},
      root,
      queueId: entry.id,
      position: place,
      configFile: entry.config,
      args: [...entry.overrides],
      reason: entry.reason,
    });
  }
  return rows;
}

/** A queued row's arguments as one line (what the page shows beside its name). */
export function queuedArgs(row: QueuedRow): string {
  return joinArgs(row.args);
}

/** The dotted-key overrides of `cvw train` arguments (`--a.b 1`, `--a.b=1`, `a.b=1`), typed loosely: numbers, booleans, text. */
function overridesOf(args: readonly string[]): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^(?:--)?([A-Za-z_][\w-]*(?:\.[\w-]+)+)(?:=(.*))?$/s.exec(args[i]);
    if (!m || (m[2] === undefined && !args[i].startsWith('--'))) continue;
    const value = m[2] ?? args[++i];
    if (value !== undefined) out[m[1]] = typed(value);
  }
  return out;
}

function typed(text: string): Scalar {
  if (text === 'true' || text === 'false') return text === 'true';
  return isNumber(text) ? Number(text) : text;
}

/** The value of option `--name v` or `--name=v` in `args`. */
function optionValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

function baseName(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}

// ---------------------------------------------------------------------------------------------
// filter

export type FilterOp = ':' | '=' | '!=' | '<' | '>' | '<=' | '>=';

export interface FilterTerm {
  /** Where the term is in the filter text (0-based, end exclusive): errors point at it. */
  start: number;
  end: number;
  negate: boolean;
  /** Absent for a bare word. */
  key?: string;
  op?: FilterOp;
  value: string;
}

export interface FilterError {
  message: string;
  start: number;
  end: number;
}

/** Split the filter into terms (double quotes keep spaces in a value); syntax errors located. */
export function parseFilter(text: string): { terms: FilterTerm[] } | { error: FilterError } {
  const terms: FilterTerm[] = [];
  const re = /(?:[^\s"]+|"[^"]*"?)+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const raw = m[0];
    const start = m.index;
    const end = start + raw.length;
    if ((raw.match(/"/g)?.length ?? 0) % 2) return { error: { message: `unclosed quote in "${raw}"`, start, end } };
    let body = raw;
    let negate = false;
    if (body.startsWith('-') && body.length > 1 && !/^-[\d.]/.test(body)) {
      negate = true;
      body = body.slice(1);
    }
    const op = /(<=|>=|!=|<|>|=|:)/.exec(keyPart(body));
    if (!op) {
      terms.push({ start, end, negate, value: unquote(body) });
      continue;
    }
    const key = body.slice(0, op.index);
    const value = unquote(body.slice(op.index + op[0].length));
    const o = op[0] as FilterOp;
    if (!key) return { error: { message: `"${raw}": a key is missing before ${o}`, start, end } };
    if (!value) return { error: { message: `"${raw}": a value is missing after ${o}`, start, end } };
    if ((o === '<' || o === '>' || o === '<=' || o === '>=') && !isNumber(value)) {
      return { error: { message: `"${raw}": ${o} compares numbers; "${value}" is not a number`, start, end } };
    }
    terms.push({ start, end, negate, key, op: o, value });
  }
  return { terms };
}

/** The part of a term where its operator may be: up to the first quote, and past a `best(...)`. */
function keyPart(body: string): string {
  const q = body.indexOf('"');
  const head = q < 0 ? body : body.slice(0, q);
  const best = /^best\([^)]*\)/.exec(head);
  return best ? ' '.repeat(best[0].length) + head.slice(best[0].length) : head;
}

function unquote(s: string): string {
  return s.replace(/"/g, '');
}

function isNumber(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}

/** A filter key's column: built-in, `best(metric)`, metric, config path, or a unique last segment of one. */
export function resolveKey(key: string, index: ColumnIndex): { column: ColumnId } | { message: string } {
  if (isBuiltin(key)) return { column: key };
  if (key === 'world' || key === 'world-size') return { column: 'world_size' };
  const best = /^best\((.+)\)$/.exec(key);
  if (best) {
    const metric = resolveMetric(best[1], index);
    return 'message' in metric ? metric : { column: bestColumn(metric.metric) };
  }
  if (index.metrics.includes(key)) return { column: finalColumn(key) };
  if (index.configKeys.includes(key)) return { column: configColumn(key) };
  const configs = index.configKeys.filter((k) => k.endsWith(`.${key}`));
  const metrics = index.metrics.filter((k) => k.endsWith(`/${key}`));
  const found = [...configs.map(configColumn), ...metrics.map(finalColumn)];
  if (found.length === 1) return { column: found[0] };
  if (found.length > 1) return { message: `"${key}" is ambiguous: ${found.slice(0, 5).map(columnLabel).join(', ')}${found.length > 5 ? ', ...' : ''}` };
  return { message: `unknown key "${key}": expected a column (${BUILTIN_COLUMNS.join(', ')}), a metric or a config key` };
}

function resolveMetric(key: string, index: ColumnIndex): { metric: string } | { message: string } {
  if (index.metrics.includes(key)) return { metric: key };
  const found = index.metrics.filter((k) => k.endsWith(`/${key}`));
  if (found.length === 1) return { metric: found[0] };
  if (found.length > 1) return { message: `"${key}" is ambiguous: ${found.join(', ')}` };
  return { message: `unknown metric "${key}"` };
}

export type RowPredicate = (row: TableRow) => boolean;

/** The filter as a predicate, or its first error (located in the text). The empty filter keeps every row. */
export function compileFilter(text: string, index: ColumnIndex): { predicate: RowPredicate } | { error: FilterError } {
  const parsed = parseFilter(text);
  if ('error' in parsed) return parsed;
  const tests: RowPredicate[] = [];
  for (const t of parsed.terms) {
    let test: RowPredicate;
    if (t.key === undefined || t.op === undefined) {
      const word = t.value.toLowerCase();
      test = (r) => r.name.toLowerCase().includes(word) || r.note.toLowerCase().includes(word);
    } else {
      const resolved = resolveKey(t.key, index);
      if ('message' in resolved) return { error: { message: resolved.message, start: t.start, end: t.end } };
      test = comparison(resolved.column, t.op, t.value);
    }
    tests.push(t.negate ? (r) => !test(r) : test);
  }
  return { predicate: (r) => tests.every((f) => f(r)) };
}

function comparison(column: ColumnId, op: FilterOp, value: string): RowPredicate {
  if (op === '<' || op === '>' || op === '<=' || op === '>=') {
    const n = Number(value);
    return (r) => {
      const v = cellValue(r, column);
      if (typeof v !== 'number') return false;
      return op === '<' ? v < n : op === '>' ? v > n : op === '<=' ? v <= n : v >= n;
    };
  }
  const wanted = value.split(',').filter(Boolean);
  const equal = (v: Scalar | undefined) => v !== undefined && wanted.some((w) => equals(v, w));
  return op === '!=' ? (r) => !equal(cellValue(r, column)) : (r) => equal(cellValue(r, column));
}

function equals(v: Scalar, w: string): boolean {
  if (typeof v === 'number') return isNumber(w) && v === Number(w);
  if (typeof v === 'boolean') return String(v) === w.toLowerCase();
  return v.toLowerCase() === w.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// sort and group

/** Order of two values: numbers as numbers, text naturally; a missing value after every present one. */
export function compareValues(a: Scalar | undefined, b: Scalar | undefined, descending = false): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  let c: number;
  if (typeof a === 'number' && typeof b === 'number') {
    // Not a - b: a config's .inf and .nan give NaN there, and a comparator returning NaN leaves the
    // order to chance. NaN goes after every number, as a missing value does.
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) === Number.isNaN(b) ? 0 : Number.isNaN(a) ? 1 : -1;
    c = a < b ? -1 : a > b ? 1 : 0;
  } else if (typeof a === 'boolean' && typeof b === 'boolean') c = Number(a) - Number(b);
  else c = collator.compare(String(a), String(b));
  return descending ? -c : c;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** A sorted copy (stable; ties keep the input order). */
export function sortRows(rows: readonly TableRow[], column: ColumnId, descending: boolean): TableRow[] {
  const keyed = rows.map((row, i) => ({ row, i, v: cellValue(row, column) }));
  keyed.sort((x, y) => compareValues(x.v, y.v, descending) || x.i - y.i);
  return keyed.map((k) => k.row);
}

export interface RowGroup {
  /** The group's value in the grouping column (undefined: rows without one). */
  value: Scalar | undefined;
  label: string;
  rows: TableRow[];
}

/** Rows grouped by their value in `column` (groups in ascending order, rows keep their order). */
export function groupRows(rows: readonly TableRow[], column: ColumnId): RowGroup[] {
  const groups = new Map<string, RowGroup>();
  for (const row of rows) {
    const value = cellValue(row, column);
    const key = value === undefined ? '\u0000none' : `${typeof value}:${String(value)}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { value, label: value === undefined ? `no ${columnLabel(column)}` : `${columnLabel(column)} = ${String(value)}`, rows: [] }));
    g.rows.push(row);
  }
  return [...groups.values()].sort((a, b) => compareValues(a.value, b.value));
}

/** The settings a person chose for the table (saved by the page and in the workspace). */
export interface TableView {
  columns: ColumnId[];
  sort?: { column: ColumnId; descending: boolean };
  filter: string;
  groupBy?: ColumnId;
}

export const DEFAULT_TABLE_VIEW: TableView = { columns: [...DEFAULT_COLUMNS], sort: { column: 'start', descending: true }, filter: '' };

/** Filter, sort and group in one step, as the page shows them; `error` when the filter does not parse (then no row is dropped). */
export function viewRows(rows: readonly TableRow[], view: TableView, index: ColumnIndex = columnIndex(rows)): { groups: RowGroup[]; error?: FilterError; matched: number } {
  const compiled = compileFilter(view.filter, index);
  const kept = 'error' in compiled ? [...rows] : rows.filter(compiled.predicate);
  const sorted = view.sort ? sortRows(kept, view.sort.column, view.sort.descending) : kept;
  const groups = view.groupBy ? groupRows(sorted, view.groupBy) : [{ value: undefined, label: '', rows: sorted }];
  return { groups, error: 'error' in compiled ? compiled.error : undefined, matched: kept.length };
}

/** Table settings from saved state (it may come from an older version or a tampered page): the known fields of the right shape. */
export function tableViewFrom(v: unknown): TableView {
  const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  const columns = Array.isArray(o.columns) ? o.columns.filter((c): c is string => typeof c === 'string' && c.length < 500).slice(0, 200) : [...DEFAULT_COLUMNS];
  const s = o.sort as { column?: unknown; descending?: unknown } | undefined;
  const sort = s && typeof s.column === 'string' && typeof s.descending === 'boolean' ? { column: s.column, descending: s.descending } : DEFAULT_TABLE_VIEW.sort;
  return {
    columns,
    sort,
    filter: typeof o.filter === 'string' ? o.filter.slice(0, 2000) : '',
    groupBy: typeof o.groupBy === 'string' && o.groupBy ? o.groupBy : undefined,
  };
}
