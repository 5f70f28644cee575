/**
 * Benchmarks: the model-zoo table of self-supervised runs (kNN and linear-probe accuracy of each
 * run's frozen features, as `cvw benchmark knn|linear` wrote them) with a bar chart, and every
 * table of BENCHMARKS.md (engine and data benchmarks) sortable, with a bar chart of the column
 * chosen.
 */
import { HostMessageType, PanelKind, WebviewMessageType, type BenchmarksMessage, type BenchmarksState, type HostMessage } from '../../src/extension/protocol';
import type { BenchmarkEntry } from '../../src/report/model/benchmarks';
import { cellNumber, type MarkdownTable } from '../../src/report/model/markdownTables';
import { BarChart } from './charts/barChart';
import { DataTable, percent, type Cell, type Column, type SortState } from './components/dataTable';
import { clear, h } from './lib/dom';
import './lib/elements';
import { initialState, installErrorReporting, onHostMessage, post, saveState } from './lib/host';
import { adoptStyles } from './lib/styles';
import { onThemeChange, readTheme } from './lib/theme';

installErrorReporting();
adoptStyles();

let state: BenchmarksState = initialState<BenchmarksState>(PanelKind.Benchmarks) ?? { kind: PanelKind.Benchmarks, sort: {} };
saveState(state);

const zooEl = h('section', { id: 'model-zoo' });
const docsEl = h('section', { id: 'documents' });
const refresh = h('vscode-button', { id: 'refresh', secondary: true }, 'Refresh');
refresh.addEventListener('click', () => post({ type: WebviewMessageType.Refresh }));
document.body.append(h('main', { id: 'benchmarks' }, h('div', { class: 'run-header' }, h('h1', null, 'Benchmarks'), refresh), zooEl, docsEl));

let charts: BarChart[] = [];
let last: BenchmarksMessage | undefined;

function sortOf(id: string, fallback?: SortState): SortState | undefined {
  return state.sort[id] ?? fallback;
}

function onSort(id: string) {
  return (s: SortState) => {
    state = { ...state, sort: { ...state.sort, [id]: s } };
    saveState(state);
  };
}

function mountChart(c: BarChart, parent: HTMLElement): void {
  charts.push(c);
  parent.append(c.element);
  requestAnimationFrame(() => c.mount());
}

/** One row per run: its kNN and linear results side by side. */
function zooRows(entries: BenchmarkEntry[]) {
  const byRun = new Map<string, BenchmarkEntry[]>();
  for (const e of entries) byRun.set(e.run, [...(byRun.get(e.run) ?? []), e]);
  const metricNames: string[] = [];
  for (const e of entries) for (const k of Object.keys(e.metrics)) if (!metricNames.includes(k)) metricNames.push(k);
  metricNames.sort((a, b) => a.localeCompare(b));
  const rows = [...byRun.values()].map((list) => {
    const e = list[0];
    // A Map: metric names come from the result files, and `constructor` or `__proto__` there are names.
    const metrics = new Map(list.flatMap((x) => Object.entries(x.metrics)));
    const epochs = Math.max(...list.map((x) => x.epoch ?? 0));
    return { label: `${e.configStem}/${e.runId}`, entry: e, epochs, metrics };
  });
  return { rows, metricNames };
}

function renderZoo(entries: BenchmarkEntry[]): void {
  clear(zooEl);
  zooEl.append(h('h2', null, 'Self-supervised models: frozen-feature benchmarks'));
  if (!entries.length) {
    zooEl.append(h('div', { class: 'empty', id: 'no-benchmarks' }, 'No benchmark results yet: run `cvw benchmark knn <run>` or `cvw benchmark linear <run>`; results appear here.'));
    return;
  }
  const { rows, metricNames } = zooRows(entries);
  const columns: Column[] = [
    { label: 'run' },
    { label: 'algorithm' },
    { label: 'backbone' },
    { label: 'epochs', numeric: true },
    { label: 'feature dim', numeric: true },
    ...metricNames.map((m): Column => ({ label: `${m} (%)`, numeric: true, best: 'max', format: percent })),
  ];
  const cells: Cell[][] = rows.map((r) => [r.label, r.entry.algorithm, r.entry.backbone, r.epochs || undefined, r.entry.featureDim, ...metricNames.map((m) => r.metrics.get(m))]);
  const firstTop1 = metricNames.findIndex((m) => m.endsWith('top1'));
  zooEl.append(new DataTable({ id: 'zoo-table', columns, rows: cells, sort: sortOf('zoo-table', firstTop1 >= 0 ? { column: 5 + firstTop1, descending: true } : undefined), onSort: onSort('zoo-table') }).element);
  const top1 = metricNames.filter((m) => m.endsWith('top1'));
  if (top1.length) {
    const grid = h('div', { class: 'charts' });
    zooEl.append(grid);
    const labels = rows.map((r) => (r.entry.algorithm ? `${r.entry.algorithm} ${r.entry.runId}` : r.label));
    // kNN and linear side by side; more benchmarks get a chart each.
    const pairs = top1.length === 2 ? [top1] : top1.map((m) => [m]);
    for (const group of pairs) {
      const id = `zoo:${group.join('+')}`;
      mountChart(new BarChart(id, `${group.join(' and ')} (%)`, labels, group.map((m) => ({ label: m, values: rows.map((r) => (r.metrics.has(m) ? r.metrics.get(m)! * 100 : undefined)) })), readTheme(), (v) => v.toFixed(1)), grid);
    }
  }
}

/** Columns most of whose cells are numbers. */
function numericColumns(t: MarkdownTable): boolean[] {
  return t.header.map((_hd, ci) => {
    const filled = t.rows.filter((r) => r[ci]?.trim());
    return filled.length > 0 && filled.filter((r) => cellNumber(r[ci]) !== undefined).length >= filled.length * 0.6;
  });
}

function renderDocument(doc: { file: string; tables: MarkdownTable[] }): void {
  const name = doc.file.replace(/^.*[\\/]/, '');
  const open = h('a', { href: '#' }, name);
  open.addEventListener('click', (e) => {
    e.preventDefault();
    post({ type: WebviewMessageType.OpenFile, file: doc.file });
  });
  docsEl.append(h('h2', null, 'Measured benchmarks from ', open));
  doc.tables.forEach((t, ti) => {
    const id = `doc-${ti}`;
    const numeric = numericColumns(t);
    const section = h('section', { class: 'doc-table', 'data-table': id });
    const title = h('a', { href: '#', title: `${name}:${t.line}` }, t.title || `table ${ti + 1}`);
    title.addEventListener('click', (e) => {
      e.preventDefault();
      post({ type: WebviewMessageType.OpenFile, file: doc.file, line: t.line });
    });
    section.append(h('h3', null, title));
    const columns: Column[] = t.header.map((label, ci) => ({ label, numeric: numeric[ci] }));
    // Numeric cells show as written (units, bold), sorted by their number.
    const rows: Cell[][] = t.rows.map((r) =>
      r.map((c, ci) => {
        const v = numeric[ci] ? cellNumber(c) : undefined;
        return v === undefined ? c.replace(/\*\*|`/g, '') : { value: v, text: c.replace(/\*\*|`/g, '') };
      }),
    );
    const table = new DataTable({ id, columns, rows, sort: sortOf(id), onSort: onSort(id) });
    section.append(table.element);
    const numericIdx = numeric.map((n, i) => (n && i > 0 ? i : -1)).filter((i) => i >= 0);
    if (numericIdx.length && t.rows.length > 1) {
      const select = h('vscode-single-select', { 'aria-label': 'column to chart', class: 'chart-column' });
      for (const i of numericIdx) select.append(h('vscode-option', { value: String(i) }, t.header[i]));
      const holder = h('div', { class: 'charts' });
      const draw = (ci: number) => {
        charts = charts.filter((c) => (c.element.parentElement === holder ? (c.destroy(), false) : true));
        mountChart(new BarChart(`${id}:${ci}`, t.header[ci], t.rows.map((r) => r[0]), [{ label: t.header[ci], values: t.rows.map((r) => cellNumber(r[ci])) }], readTheme()), holder);
      };
      select.addEventListener('change', () => draw(Number((select as unknown as { value: string }).value)));
      section.append(h('div', { class: 'toolbar' }, h('label', null, 'chart', select)), holder);
      draw(numericIdx[0]);
    }
    docsEl.append(section);
  });
}

function render(msg: BenchmarksMessage): void {
  last = msg;
  for (const c of charts) c.destroy();
  charts = [];
  renderZoo(msg.entries);
  clear(docsEl);
  if (!msg.documents.length) docsEl.append(h('div', { class: 'empty', id: 'no-documents' }, 'No BENCHMARKS.md in the workspace.'));
  for (const d of msg.documents) renderDocument(d);
}

onThemeChange((theme) => {
  for (const c of charts) c.setTheme(theme);
});

onHostMessage((msg: HostMessage) => {
  switch (msg.type) {
    case HostMessageType.Benchmarks:
      render(msg);
      break;
    case HostMessageType.RunSnapshot:
    case HostMessageType.RunSummary:
    case HostMessageType.MetricsAppended:
    case HostMessageType.CompareRuns:
    case HostMessageType.Report:
    case HostMessageType.ReportJob:
    case HostMessageType.TableRows:
      break;
    default: {
      const unhandled: never = msg;
      throw new Error(`benchmarks: unknown message ${JSON.stringify(unhandled)}`);
    }
  }
});

post({ type: WebviewMessageType.Ready });

(window as unknown as { cvwBenchmarks: unknown }).cvwBenchmarks = { last: () => last, charts: () => charts };
