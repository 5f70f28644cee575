/**
 * A sortable table: click a column's header to sort by it (again to reverse). Numbers sort as
 * numbers and empty cells last; the best value of a numeric column can be marked. Rows are data,
 * so the DOM is rebuilt from them on each sort (tables here are tens of rows, not thousands).
 */
import { formatValue } from '../../../src/report/model/run';
import { clear, h } from '../lib/dom';

/** A cell: text, a number (formatted by its column), or a number shown as written (`21 ms`). */
export type Cell = string | number | undefined | { value: number; text: string };

function keyOf(c: Cell): string | number | undefined {
  return c !== undefined && typeof c === 'object' ? c.value : c;
}

export interface Column {
  label: string;
  numeric?: boolean;
  /** Mark the best value: highest (`max`) or lowest (`min`). */
  best?: 'max' | 'min';
  /** Text of a numeric value (default: 4 significant digits). */
  format?: (v: number) => string;
  /** Tooltip of the header. */
  title?: string;
}

export interface SortState {
  column: number;
  descending: boolean;
}

export interface TableOptions {
  id: string;
  columns: Column[];
  rows: Cell[][];
  sort?: SortState;
  onSort?: (sort: SortState) => void;
  /** Called with the row's index in `rows` when a row is clicked. */
  onRowClick?: (index: number) => void;
}

export function compareCells(ca: Cell, cb: Cell): number {
  const a = keyOf(ca);
  const b = keyOf(cb);
  const ea = a === undefined || a === '' || (typeof a === 'number' && !Number.isFinite(a));
  const eb = b === undefined || b === '' || (typeof b === 'number' && !Number.isFinite(b));
  if (ea || eb) return ea === eb ? 0 : ea ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** Row order for a sort (stable); empty cells stay last in both directions. */
export function sortedOrder(rows: Cell[][], sort: SortState | undefined): number[] {
  const order = rows.map((_r, i) => i);
  if (!sort) return order;
  return order.sort((i, j) => {
    const a = keyOf(rows[i][sort.column]);
    const b = keyOf(rows[j][sort.column]);
    const emptyA = a === undefined || a === '';
    const emptyB = b === undefined || b === '';
    if (emptyA || emptyB) return emptyA === emptyB ? i - j : emptyA ? 1 : -1;
    const c = compareCells(a, b);
    return (sort.descending ? -c : c) || i - j;
  });
}

export class DataTable {
  readonly element: HTMLElement;
  private sort?: SortState;

  constructor(private readonly o: TableOptions) {
    this.sort = o.sort;
    this.element = h('div', { class: 'table-wrap' });
    this.render();
  }

  private render(): void {
    const { columns, rows } = this.o;
    clear(this.element);
    const best = columns.map((c, ci) => {
      if (!c.best) return undefined;
      const vals = rows.map((r) => keyOf(r[ci])).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (vals.length < 2) return undefined;
      return c.best === 'max' ? Math.max(...vals) : Math.min(...vals);
    });
    const head = h('tr');
    columns.forEach((c, ci) => {
      const sorted = this.sort?.column === ci;
      const th = h('th', { class: `sortable${c.numeric ? ' num' : ''}`, title: c.title, 'aria-sort': sorted ? (this.sort!.descending ? 'descending' : 'ascending') : undefined, 'data-column': ci }, c.label);
      th.addEventListener('click', () => {
        // Numbers start high-to-low (best first for accuracies), text A-Z.
        const descending = sorted ? !this.sort!.descending : !!c.numeric;
        this.sort = { column: ci, descending };
        this.o.onSort?.(this.sort);
        this.render();
      });
      head.append(th);
    });
    const body = h('tbody');
    for (const ri of sortedOrder(rows, this.sort)) {
      const tr = h('tr', { 'data-row': ri });
      rows[ri].forEach((v, ci) => {
        const c = columns[ci];
        const isBest = best[ci] !== undefined && keyOf(v) === best[ci];
        const text = typeof v === 'number' ? (c.format ?? formatValue)(v) : typeof v === 'object' ? v.text : v ?? '—';
        tr.append(h('td', { class: [c.numeric ? 'num' : '', isBest ? 'best' : ''].filter(Boolean).join(' ') || undefined }, text));
      });
      if (rows[ri].some((v, ci) => best[ci] !== undefined && keyOf(v) === best[ci])) tr.classList.add('best');
      if (this.o.onRowClick) tr.addEventListener('click', () => this.o.onRowClick!(ri));
      body.append(tr);
    }
    this.element.append(h('table', { class: 'data', id: this.o.id }, h('thead', null, head), body));
  }
}

/** Percent text for accuracies stored as fractions: 0.8612 → `86.12`. */
export function percent(v: number): string {
  return (v * 100).toFixed(2);
}
