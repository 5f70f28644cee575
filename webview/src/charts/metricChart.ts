/**
 * One metric chart: a uPlot line chart over rows that keep arriving. What it draws is a
 * downsampled view (MinMaxPyramid: peaks kept, ~4 points per pixel column at most) of the exact
 * columns it holds, recomputed for the visible x range after appends and zooms; the legend reads
 * the exact rows nearest the cursor. Smoothing draws the EMA over a faint raw line; log scale and
 * a theme switch rebuild the plot.
 *
 * Zoom: drag across a chart to zoom every chart of its ZoomGroup to that x range; double-click to
 * see everything again.
 */
import uPlot from 'uplot';
import type { ChartSettings } from '../../../src/extension/protocol';
import { formatValue } from '../../../src/report/model/run';
import { h } from '../lib/dom';
import { withAlpha, type ChartTheme } from '../lib/theme';
import { EmaColumn } from './ema';
import { lowerBound, MinMaxPyramid, nearestRow } from './minMaxPyramid';
import type { MetricRows } from '../../../src/report/model/thinning';
import { formatElapsedTick, X_LABELS, xAccessor, type RunClock } from './xAxis';

export interface LineSource {
  label: string;
  color: string;
  series: MetricRows;
  key: string;
  clock: RunClock;
  /** Draw the EMA when smoothing is on (training rows; a few evaluation points are left as they are). */
  smoothable?: boolean;
}

/** Charts that zoom together (one dashboard, one comparison). */
export class ZoomGroup {
  range?: [number, number];
  /** uPlot's cursor sync key: the cursors of a group move together. */
  readonly key = `cvw-zoom-${Math.random().toString(36).slice(2)}`;
  readonly charts = new Set<MetricChart>();

  set(range: [number, number] | undefined): void {
    this.range = range;
    for (const c of this.charts) c.refresh();
  }
}

interface LineState {
  source: LineSource;
  raw: MinMaxPyramid;
  smooth?: { ema: EmaColumn; pyramid: MinMaxPyramid };
  xAt: (row: number) => number;
  /** The series' `rewrites` the pyramids were built under (thinning drops rows: they are rebuilt). */
  rewrites: number;
}

const PLOT_HEIGHT = 220;

export class MetricChart {
  readonly element: HTMLElement;
  private readonly plotHost: HTMLElement;
  private readonly note: HTMLElement;
  private plot?: uPlot;
  private lines: LineState[] = [];
  private resizeObserver?: ResizeObserver;
  /** Number of data updates drawn (for tests and the benchmark). */
  redraws = 0;
  /** Points handed to uPlot in the last update. */
  drawnPoints = 0;
  /** The spec this chart was made for (ChartBoard keeps charts whose spec is unchanged). */
  layoutKey = '';

  constructor(
    readonly id: string,
    readonly title: string,
    readonly yLabel: string,
    sources: LineSource[],
    private settings: ChartSettings,
    private theme: ChartTheme,
    private readonly zoom: ZoomGroup,
  ) {
    this.plotHost = h('div', { class: 'chart-plot' });
    this.note = h('div', { class: 'chart-note' });
    this.element = h(
      'figure',
      { class: 'chart-card', 'data-chart': id },
      h('figcaption', null, h('span', { class: 'title' }, title), h('span', { class: 'y-label' }, yLabel)),
      this.plotHost,
      h('div', { class: 'x-label' }, X_LABELS[settings.x]),
      this.note,
    );
    this.setSources(sources);
    zoom.charts.add(this);
  }

  /** Attach to the page (after the element is in the DOM: uPlot needs a width). */
  mount(): void {
    this.build();
    this.resizeObserver = new ResizeObserver(() => {
      const w = this.plotHost.clientWidth;
      if (this.plot && w > 0 && Math.abs(w - this.plot.width) > 1) {
        this.plot.setSize({ width: w, height: PLOT_HEIGHT });
        this.refresh();
      }
    });
    this.resizeObserver.observe(this.plotHost);
  }

  setSources(sources: LineSource[]): void {
    const same = sources.length === this.lines.length && sources.every((src, i) => src.series === this.lines[i].source.series && src.key === this.lines[i].source.key);
    if (same) {
      // Same rows: keep the pyramids and smoothing, take the new clock (epoch length, start).
      this.lines.forEach((l, i) => {
        l.source = sources[i];
        l.xAt = xAccessor(l.source.series, this.settings.x, l.source.clock);
      });
      return;
    }
    this.lines = sources.map((source) => ({
      source,
      raw: new MinMaxPyramid(),
      smooth: this.settings.smoothing > 0 && source.smoothable !== false ? { ema: new EmaColumn(this.settings.smoothing), pyramid: new MinMaxPyramid() } : undefined,
      xAt: xAccessor(source.series, this.settings.x, source.clock),
      rewrites: source.series.rewrites,
    }));
  }

  /** New settings: x axis and smoothing recompute the view; log scale rebuilds the plot. */
  setSettings(settings: ChartSettings): void {
    const rebuild = settings.logScale !== this.settings.logScale || settings.x !== this.settings.x || (settings.smoothing > 0) !== (this.settings.smoothing > 0);
    const smoothingChanged = settings.smoothing !== this.settings.smoothing;
    this.settings = settings;
    // The pyramids index rows, whatever the x axis: only a new smoothing weight recomputes one.
    for (const l of this.lines) {
      l.xAt = xAccessor(l.source.series, settings.x, l.source.clock);
      if (smoothingChanged) l.smooth = settings.smoothing > 0 && l.source.smoothable !== false ? { ema: new EmaColumn(settings.smoothing), pyramid: new MinMaxPyramid() } : undefined;
    }
    (this.element.querySelector('.x-label') as HTMLElement).textContent = X_LABELS[settings.x];
    if (rebuild) this.build();
    else this.refresh();
  }

  setTheme(theme: ChartTheme, colors: string[]): void {
    this.theme = theme;
    this.lines.forEach((l, i) => (l.source = { ...l.source, color: colors[i] ?? l.source.color }));
    this.build();
  }

  destroy(): void {
    this.zoom.charts.delete(this);
    this.resizeObserver?.disconnect();
    this.plot?.destroy();
    this.plot = undefined;
    this.element.remove();
  }

  private build(): void {
    this.plot?.destroy();
    const width = Math.max(200, this.plotHost.clientWidth || 400);
    const t = this.theme;
    const axis: uPlot.Axis = {
      stroke: t.foreground,
      grid: { stroke: t.grid, width: 1 },
      ticks: { stroke: t.grid, width: 1 },
      font: t.font,
    };
    const series: uPlot.Series[] = [
      {
        label: X_LABELS[this.settings.x],
        value: (u) => this.exactX(u),
      },
    ];
    for (const [i, line] of this.lines.entries()) {
      const color = line.source.color;
      if (line.smooth) {
        series.push({ label: `${line.source.label} (smoothed)`, stroke: color, width: 1.5, spanGaps: true, value: (u) => this.exactY(u, i, true) });
      }
      series.push({
        label: line.source.label,
        stroke: line.smooth ? withAlpha(color, 0.3) : color,
        width: line.smooth ? 1 : 1.5,
        spanGaps: true,
        points: { size: 5, fill: color, stroke: color },
        value: (u) => this.exactY(u, i, false),
      });
    }
    const opts: uPlot.Options = {
      width,
      height: PLOT_HEIGHT,
      scales: {
        x: { time: this.settings.x === 'wall' },
        y: this.settings.logScale ? { distr: 3 } : {},
      },
      axes: [
        { ...axis, values: this.settings.x === 'relative' ? (_u, splits) => splits.map(formatElapsedTick) : undefined },
        { ...axis, size: 64, values: (_u, splits) => splits.map((v) => formatValue(v)) },
      ],
      series,
      legend: { live: true },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        bind: {
          dblclick: () => () => {
            this.zoom.set(undefined);
            return null;
          },
        },
        sync: { key: this.zoom.key },
      },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const min = u.posToVal(u.select.left, 'x');
            const max = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            if (max > min) this.zoom.set([min, max]);
          },
        ],
      },
    };
    this.plot = new uPlot(opts, this.data(width), this.plotHost);
    this.redraws++;
  }

  /** Bring the drawing up to date with the rows (after appends, a zoom, a resize). */
  refresh(): void {
    if (!this.plot) return;
    const data = this.data(this.plot.width);
    const range = this.zoom.range;
    this.plot.batch(() => {
      this.plot!.setData(data, !range);
      if (range) this.plot!.setScale('x', { min: range[0], max: range[1] });
    });
    this.redraws++;
  }

  /** The rows to draw, as uPlot's aligned data. */
  private data(widthPx: number): uPlot.AlignedData {
    const buckets = Math.max(64, Math.round(widthPx));
    const range = this.zoom.range;
    const log = this.settings.logScale;
    const clean = (v: number) => (Number.isFinite(v) && (!log || v > 0) ? v : null);
    const tables: uPlot.AlignedData[] = [];
    let points = 0;
    let rows = 0;
    let read = 0;
    for (const line of this.lines) {
      const s = line.source.series;
      const n = s.length;
      // The rows of this line's column, kept and read: a rare column in a thinned split keeps all of its own.
      rows += s.keptWith(line.source.key);
      read += s.rowsWith(line.source.key);
      if (line.rewrites !== s.rewrites) {
        // Rows were dropped (thinning): the indexes over them start again (a few thousand rows).
        line.rewrites = s.rewrites;
        line.raw.reset();
        if (line.smooth) line.smooth = { ema: new EmaColumn(line.smooth.ema.weight), pyramid: new MinMaxPyramid() };
      }
      const y = s.values(line.source.key);
      line.raw.update(y, n);
      let ys = y;
      if (line.smooth) {
        line.smooth.ema.update(y, n);
        ys = line.smooth.ema.values;
        line.smooth.pyramid.update(ys, n);
      }
      let lo = 0;
      let hi = n;
      if (range) {
        // One row beyond each end, so lines run to the edges of the plot.
        lo = Math.max(0, lowerBound(line.xAt, n, range[0]) - 1);
        hi = Math.min(n, lowerBound(line.xAt, n, range[1]) + 1);
        if (hi < n && line.xAt(hi) <= range[1]) hi++;
      }
      const picked = line.smooth
        ? mergeTwo(line.raw.select(y, lo, hi, buckets), line.smooth.pyramid.select(ys, lo, hi, buckets))
        : line.raw.select(y, lo, hi, buckets);
      const xs: number[] = [];
      const rawYs: Array<number | null> = [];
      const smYs: Array<number | null> = [];
      let lastX = -Infinity;
      for (const r of picked) {
        const x = line.xAt(r);
        // uPlot wants ascending x: skip rows without x, and repeats (a resumed run's rows).
        if (!Number.isFinite(x) || x < lastX) continue;
        if (x === lastX) {
          rawYs[rawYs.length - 1] = clean(y[r]);
          if (line.smooth) smYs[smYs.length - 1] = clean(ys[r]);
          continue;
        }
        lastX = x;
        xs.push(x);
        rawYs.push(clean(y[r]));
        if (line.smooth) smYs.push(clean(ys[r]));
      }
      points += xs.length;
      tables.push(line.smooth ? [xs, smYs, rawYs] : [xs, rawYs]);
    }
    this.drawnPoints = points;
    this.note.textContent =
      rows === 0
        ? 'no data yet'
        : read > rows
          ? `showing ${rows.toLocaleString()} of ${read.toLocaleString()} points (evenly thinned, the latest always kept)${points < rows ? `; ${points.toLocaleString()} drawn` : ''}`
          : points < rows
            ? `${points.toLocaleString()} of ${rows.toLocaleString()} points drawn; hover reads the exact rows`
            : '';
    if (tables.length === 1) return tables[0];
    if (tables.length === 0) return [[]];
    return uPlot.join(tables);
  }

  /** The x of the exact row nearest the cursor (of the first line). */
  private exactX(u: uPlot): string {
    const hit = this.rowAtCursor(u, 0);
    if (!hit) return '—';
    const x = hit.line.xAt(hit.row);
    if (this.settings.x === 'wall') return new Date(x * 1000).toLocaleString();
    if (this.settings.x === 'relative') return formatElapsedTick(x);
    return formatValue(x);
  }

  private exactY(u: uPlot, lineIndex: number, smoothed: boolean): string {
    const hit = this.rowAtCursor(u, lineIndex);
    if (!hit) return '—';
    const line = hit.line;
    const values = smoothed && line.smooth ? line.smooth.ema.values : line.source.series.values(line.source.key);
    return formatValue(values[hit.row]);
  }

  /** The exact row of line `i` nearest the cursor's x, or undefined when the cursor is away. */
  private rowAtCursor(u: uPlot, i: number): { line: LineState; row: number } | undefined {
    const left = u.cursor.left;
    const line = this.lines[i];
    if (left === undefined || left < 0 || !line) return undefined;
    const x = u.posToVal(left, 'x');
    const row = nearestRow(line.xAt, line.source.series.length, x);
    return row < 0 ? undefined : { line, row };
  }

  /** Changes whenever rows are appended to a series this chart draws. */
  dataVersion(): string {
    return this.lines.map((l) => l.source.series.version).join(',');
  }

  /** Text of the legend entries (for tests). */
  legendLabels(): string[] {
    return Array.from(this.element.querySelectorAll('.u-legend .u-series .u-label')).map((e) => e.textContent ?? '');
  }
}

function mergeTwo(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let w = 0;
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (w === 0 || out[w - 1] !== v) out[w++] = v;
  }
  return out.subarray(0, w);
}
