/**
 * The runs table's page: every row from the host, filtered, sorted and grouped here as a person
 * types (src/extension/panels/runsTableModel.ts), drawn virtually — only the rows in view are in
 * the DOM — so that a thousand runs scroll and filter without waiting. Queued runs (the run queue's
 * entries not started yet) are rows too: Remove from queue and Move up/down act on them, the
 * buttons for runs do not.
 */
import {
  HostMessageType,
  PanelKind,
  TableAction,
  WebviewMessageType,
  type HostMessage,
  type RunsTableState,
} from '../../src/extension/protocol';
import {
  DEFAULT_TABLE_VIEW,
  allColumns,
  cellValue,
  columnIndex,
  columnLabel,
  isNumericColumn,
  queuedArgs,
  tableViewFrom,
  viewRows,
  type ColumnId,
  type ColumnIndex,
  type TableRow,
  type TableView,
} from '../../src/extension/panels/runsTableModel';
import { formatDuration, formatValue } from '../../src/report/model/run';
import { clear, h } from './lib/dom';
import { initialState, installErrorReporting, onHostMessage, post, saveState } from './lib/host';
import { adoptStyles } from './lib/styles';

installErrorReporting();
adoptStyles(`
#runs-table main { display: flex; flex-direction: column; height: calc(100vh - 40px); }
#runs-table .toolbar input[type=text] { background: var(--vscode-input-background); color: var(--vscode-input-foreground); border: 1px solid var(--vscode-input-border, transparent); padding: 3px 6px; }
#runs-table #filter { flex: 1; min-width: 260px; font-family: var(--vscode-editor-font-family); }
#runs-table #filter.invalid { border-color: var(--vscode-inputValidation-errorBorder); }
#runs-table button { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: none; padding: 3px 10px; cursor: pointer; }
#runs-table button:disabled { opacity: 0.5; cursor: default; }
#runs-table #filter-error { color: var(--vscode-errorForeground); min-height: 1.2em; margin: -6px 0 6px; font-family: var(--vscode-editor-font-family); }
#runs-table .viewport { flex: 1; overflow: auto; border-top: 1px solid var(--vscode-panel-border, rgba(128,128,128,0.35)); }
#runs-table table { border-collapse: collapse; width: max-content; min-width: 100%; }
#runs-table th { position: sticky; top: 0; background: var(--vscode-editor-background); text-align: left; padding: 2px 8px; cursor: pointer; white-space: nowrap; border-bottom: 1px solid var(--vscode-panel-border, rgba(128,128,128,0.35)); z-index: 1; }
#runs-table th .remove { margin-left: 6px; opacity: 0.5; }
#runs-table th .remove:hover { opacity: 1; }
#runs-table td { padding: 0 8px; height: 24px; white-space: nowrap; max-width: 360px; overflow: hidden; text-overflow: ellipsis; }
#runs-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
#runs-table tr.row:hover { background: var(--vscode-list-hoverBackground); }
#runs-table tr.row.selected { background: var(--vscode-list-inactiveSelectionBackground); }
#runs-table tr.group td { font-weight: 600; background: var(--vscode-sideBarSectionHeader-background, rgba(128,128,128,0.15)); }
#runs-table td.star { cursor: pointer; color: var(--vscode-charts-yellow); }
#runs-table tr.queued td { font-style: italic; }
#runs-table td .args { margin-left: 8px; opacity: 0.7; font-family: var(--vscode-editor-font-family); }
`);

const ROW_HEIGHT = 24;
/** Rows drawn above and below the visible ones, so that a fast scroll shows no gap. */
const OVERSCAN = 20;

let state: RunsTableState = initialState<RunsTableState>(PanelKind.RunsTable) ?? { kind: PanelKind.RunsTable, view: DEFAULT_TABLE_VIEW, selected: [] };
state = { kind: PanelKind.RunsTable, view: tableViewFrom(state.view), selected: Array.isArray(state.selected) ? state.selected.filter((d) => typeof d === 'string') : [] };
saveState(state);

const rows = new Map<string, TableRow>();
let index: ColumnIndex = { configKeys: [], metrics: [] };
const selected = new Set<string>(state.selected);
/** What is drawn: group headers and rows, in order. */
type Item = { group: string; count: number } | { row: TableRow };
let items: Item[] = [];
let lastClicked: number | undefined;

// ---------------------------------------------------------------------------------------------
// the page

const filterInput = h('input', { type: 'text', id: 'filter', placeholder: 'Filter: status:finished lr>0.01 val/accuracy_top1>0.9', spellcheck: 'false', value: state.view.filter });
const filterError = h('div', { id: 'filter-error', role: 'alert' });
const count = h('span', { id: 'row-count', class: 'muted' });
const groupSelect = h('select', { id: 'group-by', title: 'Group rows by a column' });
const columnInput = h('input', { type: 'text', id: 'add-column', list: 'column-options', placeholder: 'Add a column (config key or metric)…', spellcheck: 'false' });
const columnOptions = h('datalist', { id: 'column-options' });
const noteInput = h('input', { type: 'text', id: 'note', placeholder: 'Note for the selected runs', spellcheck: 'true' });
const buttons = {
  compare: h('button', { id: 'compare', title: 'Compare the selected runs' }, 'Compare'),
  report: h('button', { id: 'report', title: 'Open the report of each selected run' }, 'Report'),
  export: h('button', { id: 'export', title: 'Export the model of each selected run (ONNX, TF.js)' }, 'Export'),
  star: h('button', { id: 'star', title: 'Star or unstar the selected runs' }, 'Star'),
  note: h('button', { id: 'save-note', title: 'Save the note on the selected runs' }, 'Save note'),
  delete: h('button', { id: 'delete', title: 'Delete the selected runs (asks first)' }, 'Delete'),
  queueUp: h('button', { id: 'queue-up', title: 'Move the selected queued runs up the queue' }, 'Move up'),
  queueDown: h('button', { id: 'queue-down', title: 'Move the selected queued runs down the queue' }, 'Move down'),
  queueRemove: h('button', { id: 'queue-remove', title: 'Remove the selected queued runs from the queue' }, 'Remove from queue'),
};
const table = h('table', { id: 'runs' });
const viewport = h('div', { class: 'viewport', id: 'viewport' }, table);

document.body.id = 'runs-table';
document.body.append(
  h(
    'main',
    null,
    h('div', { class: 'toolbar' }, filterInput, count),
    filterError,
    h('div', { class: 'toolbar' }, h('label', null, 'Group by', groupSelect), columnInput, columnOptions, buttons.compare, buttons.report, buttons.export, buttons.star, noteInput, buttons.note, buttons.delete, buttons.queueUp, buttons.queueDown, buttons.queueRemove),
    viewport,
  ),
);

// ---------------------------------------------------------------------------------------------
// state

let settingsTimer: ReturnType<typeof setTimeout> | undefined;

function setView(view: TableView, render = true): void {
  state = { ...state, view };
  saveState(state);
  // The host remembers the settings for the next table of this workspace; typing is batched.
  if (settingsTimer) clearTimeout(settingsTimer);
  settingsTimer = setTimeout(() => post({ type: WebviewMessageType.TableSettings, view: state.view }), 300);
  if (render) rebuild();
}

function saveSelection(): void {
  state = { ...state, selected: [...selected] };
  saveState(state);
  updateButtons();
}

function selectedDirs(): string[] {
  return [...selected].filter((d) => rows.has(d));
}

function act(action: TableAction, extra: { starred?: boolean; note?: string } = {}): void {
  const dirs = selectedDirs();
  if (dirs.length) post({ type: WebviewMessageType.TableAction, action, dirs, ...extra });
}

buttons.compare.addEventListener('click', () => act(TableAction.Compare));
buttons.report.addEventListener('click', () => act(TableAction.Report));
buttons.export.addEventListener('click', () => act(TableAction.Export));
buttons.delete.addEventListener('click', () => act(TableAction.Delete));
buttons.star.addEventListener('click', () => act(TableAction.Star, { starred: !selectedDirs().every((d) => rows.get(d)?.starred) }));
buttons.note.addEventListener('click', () => act(TableAction.Note, { note: noteInput.value }));
buttons.queueUp.addEventListener('click', () => act(TableAction.QueueUp));
buttons.queueDown.addEventListener('click', () => act(TableAction.QueueDown));
buttons.queueRemove.addEventListener('click', () => act(TableAction.QueueRemove));

/** The run buttons for a selection of runs only, the queue buttons for one of queued runs only (shown while the queue has any). */
function updateButtons(): void {
  const dirs = selectedDirs();
  const n = dirs.length;
  const queued = dirs.filter((d) => rows.get(d)?.kind === 'queued').length;
  const runs = queued ? 0 : n;
  buttons.compare.disabled = runs < 2;
  buttons.report.disabled = buttons.export.disabled = buttons.star.disabled = buttons.note.disabled = buttons.delete.disabled = runs === 0;
  const anyQueued = [...rows.values()].some((r) => r.kind === 'queued');
  for (const b of [buttons.queueUp, buttons.queueDown, buttons.queueRemove]) {
    b.hidden = !anyQueued;
    b.disabled = queued === 0 || queued !== n;
  }
  if (runs === 1) noteInput.value = rows.get(dirs[0])?.note ?? '';
}

filterInput.addEventListener('input', () => setView({ ...state.view, filter: filterInput.value }));
groupSelect.addEventListener('change', () => setView({ ...state.view, groupBy: groupSelect.value || undefined }));
columnInput.addEventListener('change', () => addColumn(columnInput.value.trim()));
columnInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') addColumn(columnInput.value.trim());
});

/** Add a column by its id or its label (what the picker lists). */
function addColumn(text: string): void {
  if (!text) return;
  const all = allColumns(index);
  const id = all.find((c) => c === text) ?? all.find((c) => columnLabel(c) === text);
  if (!id) {
    filterError.textContent = `no column "${text}": pick a config key or a metric from the list`;
    return;
  }
  columnInput.value = '';
  if (!state.view.columns.includes(id)) setView({ ...state.view, columns: [...state.view.columns, id] });
}

// ---------------------------------------------------------------------------------------------
// drawing

function format(id: ColumnId, v: ReturnType<typeof cellValue>): string {
  if (v === undefined) return '';
  if (id === 'start') return new Date(v as number).toLocaleString(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  if (id === 'duration') return formatDuration((v as number) / 1000);
  if (id === 'starred') return v === undefined ? '' : v ? '★' : '☆';
  if (typeof v === 'number') return formatValue(v);
  return String(v);
}

/** Filter, sort, group: the list of items to draw. */
function rebuild(): void {
  const all = [...rows.values()];
  const { groups, error, matched } = viewRows(all, state.view, index);
  filterInput.classList.toggle('invalid', !!error);
  filterError.textContent = error ? `${error.message} (at column ${error.start + 1})` : '';
  count.textContent = `${matched} of ${all.length} runs`;
  items = [];
  for (const g of groups) {
    if (state.view.groupBy) items.push({ group: g.label, count: g.rows.length });
    for (const row of g.rows) items.push({ row });
  }
  drawHeader();
  drawBody();
  updateButtons();
}

function drawHeader(): void {
  const thead = h('thead');
  const tr = h('tr');
  tr.append(h('th', { class: 'select' }, ''));
  for (const id of state.view.columns) {
    const sorted = state.view.sort?.column === id;
    const arrow = sorted ? (state.view.sort!.descending ? ' ▼' : ' ▲') : '';
    const remove = h('span', { class: 'remove', title: 'Remove this column' }, '×');
    remove.addEventListener('click', (e) => {
      e.stopPropagation();
      setView({ ...state.view, columns: state.view.columns.filter((c) => c !== id) });
    });
    const th = h('th', { 'data-column': id, class: isNumericColumn(id) ? 'num' : '', title: `Sort by ${columnLabel(id)}` }, columnLabel(id) + arrow, remove);
    th.addEventListener('click', () => {
      const descending = sorted ? !state.view.sort!.descending : isNumericColumn(id);
      setView({ ...state.view, sort: { column: id, descending } });
    });
    tr.append(th);
  }
  thead.append(tr);
  const old = table.querySelector('thead');
  if (old) old.replaceWith(thead);
  else table.prepend(thead);
}

let tbody = h('tbody');
table.append(tbody);

function spacer(height: number): HTMLTableRowElement {
  const td = h('td', { colspan: state.view.columns.length + 1 });
  td.style.height = `${height}px`;
  td.style.padding = '0';
  return h('tr', { class: 'spacer' }, td);
}

/** Draw the items in view (and a margin), with spacers standing for the rest. */
function drawBody(): void {
  const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
  const visible = Math.ceil((viewport.clientHeight || 600) / ROW_HEIGHT) + 2 * OVERSCAN;
  const last = Math.min(items.length, first + visible);
  const body = h('tbody');
  if (first > 0) body.append(spacer(first * ROW_HEIGHT));
  for (let i = first; i < last; i++) body.append(drawItem(items[i], i));
  if (last < items.length) body.append(spacer((items.length - last) * ROW_HEIGHT));
  if (!items.length) body.append(h('tr', null, h('td', { colspan: state.view.columns.length + 1, class: 'empty' }, rows.size ? 'No run matches the filter.' : 'No runs yet.')));
  tbody.replaceWith(body);
  tbody = body;
}

function drawItem(item: Item, i: number): HTMLTableRowElement {
  if ('group' in item) return h('tr', { class: 'group' }, h('td', { colspan: state.view.columns.length + 1 }, `${item.group} (${item.count})`));
  const row = item.row;
  const isSelected = selected.has(row.dir);
  const box = h('input', { type: 'checkbox', class: 'select', 'aria-label': `Select ${row.name}`, checked: isSelected });
  const tr = h('tr', { class: `row${row.kind === 'queued' ? ' queued' : ''}${isSelected ? ' selected' : ''}`, 'data-dir': row.dir, 'data-name': row.name, 'data-kind': row.kind }, h('td', null, box));
  box.addEventListener('click', (e) => {
    e.stopPropagation();
    toggle(i, (e as MouseEvent).shiftKey);
  });
  for (const id of state.view.columns) {
    const v = cellValue(row, id);
    const td = h('td', { class: `${isNumericColumn(id) ? 'num' : ''}${id === 'starred' && row.kind === 'run' ? ' star' : ''}`, 'data-column': id, title: id === 'note' ? row.note : undefined }, format(id, v));
    if (row.kind === 'queued') {
      // Where it stands in the queue, and what it will run: the config and its arguments.
      if (id === 'status' && row.position !== undefined) td.textContent = `${format(id, v)} #${row.position}`;
      if (id === 'status' && row.reason) td.title = row.reason;
      if (id === 'name') {
        if (row.args.length) td.append(h('span', { class: 'args' }, queuedArgs(row)));
        td.title = [`${row.configFile} (queue entry ${row.queueId})`, row.args.length ? `arguments: ${queuedArgs(row)}` : 'the config as it is', ...(row.reason ? [`reason: ${row.reason}`] : [])].join('\n');
      }
    } else if (id === 'starred') {
      td.addEventListener('click', (e) => {
        e.stopPropagation();
        post({ type: WebviewMessageType.TableAction, action: TableAction.Star, dirs: [row.dir], starred: !row.starred });
      });
    }
    tr.append(td);
  }
  tr.addEventListener('click', (e) => toggle(i, e.shiftKey));
  if (row.kind === 'run') tr.addEventListener('dblclick', () => post({ type: WebviewMessageType.TableAction, action: TableAction.OpenDashboard, dirs: [row.dir] }));
  return tr;
}

/** Select or unselect item `i`; with shift, every row from the last one clicked. */
function toggle(i: number, range: boolean): void {
  const item = items[i];
  if (!item || !('row' in item)) return;
  const on = !selected.has(item.row.dir);
  const from = range && lastClicked !== undefined ? Math.min(lastClicked, i) : i;
  const to = range && lastClicked !== undefined ? Math.max(lastClicked, i) : i;
  for (let k = from; k <= to; k++) {
    const it = items[k];
    if (it && 'row' in it) {
      if (on) selected.add(it.row.dir);
      else selected.delete(it.row.dir);
    }
  }
  lastClicked = i;
  saveSelection();
  drawBody();
}

let scrollFrame = 0;
viewport.addEventListener('scroll', () => {
  if (scrollFrame) return;
  scrollFrame = requestAnimationFrame(() => {
    scrollFrame = 0;
    drawBody();
  });
});
window.addEventListener('resize', () => drawBody());

/** The picker's choices and the group-by list follow the keys the runs have. */
function updateIndex(): void {
  index = columnIndex([...rows.values()]);
  clear(columnOptions);
  for (const id of allColumns(index)) if (!state.view.columns.includes(id)) columnOptions.append(h('option', { value: columnLabel(id) }));
  clear(groupSelect);
  groupSelect.append(h('option', { value: '' }, '(none)'));
  for (const id of ['status', 'engine', 'world_size', ...index.configKeys.map((k) => `config:${k}`)]) {
    groupSelect.append(h('option', { value: id, selected: state.view.groupBy === id }, columnLabel(id)));
  }
}

onHostMessage((msg: HostMessage) => {
  if (msg.type !== HostMessageType.TableRows) return;
  if (msg.reset) rows.clear();
  for (const d of msg.removed) {
    rows.delete(d);
    selected.delete(d);
  }
  for (const r of msg.rows) rows.set(r.dir, r);
  updateIndex();
  rebuild();
});

rebuild();
post({ type: WebviewMessageType.Ready });
