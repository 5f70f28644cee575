/**
 * Bar charts with uPlot: one bar per category (a run, an algorithm, a table row), one or two
 * series side by side (kNN and linear top-1 of each run). Categories are the x positions 0..n-1
 * with their names as tick labels.
 */
import uPlot from 'uplot';
import { formatValue } from '../../../src/report/model/run';
import { h } from '../lib/dom';
import type { ChartTheme } from '../lib/theme';

export interface BarSeries {
  label: string;
  values: Array<number | undefined>;
}

export class BarChart {
  readonly element: HTMLElement;
  private readonly host: HTMLElement;
  private plot?: uPlot;
  private resize?: ResizeObserver;

  constructor(
    readonly id: string,
    readonly title: string,
    private categories: string[],
    private series: BarSeries[],
    private theme: ChartTheme,
    private readonly format: (v: number) => string = formatValue,
  ) {
    this.host = h('div', { class: 'chart-plot' });
    this.element = h('figure', { class: 'chart-card bar-chart', 'data-chart': id }, h('figcaption', null, h('span', { class: 'title' }, title)), this.host);
  }

  mount(): void {
    this.build();
    this.resize = new ResizeObserver(() => {
      const w = this.host.clientWidth;
      if (this.plot && w > 0 && Math.abs(w - this.plot.width) > 1) this.plot.setSize({ width: w, height: this.height() });
    });
    this.resize.observe(this.host);
  }

  setTheme(theme: ChartTheme): void {
    this.theme = theme;
    this.build();
  }

  destroy(): void {
    this.resize?.disconnect();
    this.plot?.destroy();
    this.element.remove();
  }

  private height(): number {
    const longest = Math.max(0, ...this.categories.map((c) => short(c).length));
    return 220 + Math.min(110, longest * 5);
  }

  private build(): void {
    this.plot?.destroy();
    const t = this.theme;
    const n = this.categories.length;
    const width = Math.max(240, this.host.clientWidth || 480);
    // Slanted labels when they would not fit side by side (about 7 px a character).
    const longest = Math.max(0, ...this.categories.map((c) => short(c).length));
    const many = longest * 7 > (width - 70) / Math.max(1, n);
    const two = this.series.length === 2;
    const axis: uPlot.Axis = { stroke: t.foreground, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 }, font: t.font };
    const opts: uPlot.Options = {
      width,
      height: this.height(),
      scales: {
        x: { time: false, range: () => [-0.5, n - 0.5] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
      },
      axes: [
        {
          ...axis,
          grid: { show: false },
          splits: () => this.categories.map((_c, i) => i),
          // Long names are cut on the axis; the legend (hover) shows them whole.
          values: (_u, splits) => splits.map((i) => short(this.categories[i] ?? '')),
          rotate: many ? -40 : 0,
          size: many ? 30 + Math.min(120, longest * 5.5) : 40,
        },
        { ...axis, size: 60, values: (_u, splits) => splits.map((v) => this.format(v)) },
      ],
      legend: { show: this.series.length > 1 },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      series: [
        { label: 'category', value: (_u, v) => (v === null ? '—' : this.categories[v] ?? '') },
        ...this.series.map((s, i): uPlot.Series => ({
          label: s.label,
          stroke: t.palette[i % t.palette.length],
          fill: t.palette[i % t.palette.length],
          width: 0,
          points: { show: false },
          value: (_u, v) => (v === null || v === undefined ? '—' : this.format(v)),
          paths: uPlot.paths.bars!({ size: [two ? 0.4 : 0.6, 80], align: two ? (i === 0 ? -1 : 1) : 0 }),
        })),
      ],
    };
    const data: uPlot.AlignedData = [this.categories.map((_c, i) => i), ...this.series.map((s) => s.values.map((v) => (v === undefined || !Number.isFinite(v) ? null : v)))];
    this.plot = new uPlot(opts, data, this.host);
  }
}

const MAX_LABEL = 22;

function short(label: string): string {
  return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
}
