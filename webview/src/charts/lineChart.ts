/**
 * A small line chart with uPlot for fixed curves on a shared x axis (precision-recall curves in
 * Compare Runs): one line per series, gaps where a series has no value, the legend on hover.
 */
import uPlot from 'uplot';
import { h } from '../lib/dom';
import type { ChartTheme } from '../lib/theme';

export interface LineSeries {
  label: string;
  /** One value per x; null where the series has none. */
  values: Array<number | null> | null;
}

export class LineChart {
  readonly element: HTMLElement;
  private readonly host: HTMLElement;
  private plot?: uPlot;

  constructor(
    readonly id: string,
    readonly title: string,
    private readonly x: number[],
    private readonly series: LineSeries[],
    private theme: ChartTheme,
    private readonly axes: { x: string; y: string; yRange?: [number, number] },
  ) {
    this.host = h('div', { class: 'chart-plot' });
    this.element = h('figure', { class: 'chart-card line-chart', 'data-chart': id }, h('figcaption', null, h('span', { class: 'title' }, title)), this.host);
  }

  mount(): void {
    this.build();
  }

  setTheme(theme: ChartTheme): void {
    this.theme = theme;
    this.build();
  }

  destroy(): void {
    this.plot?.destroy();
    this.element.remove();
  }

  /** The plotted data (x first), for tests. */
  data(): uPlot.AlignedData | undefined {
    return this.plot?.data;
  }

  private build(): void {
    this.plot?.destroy();
    const t = this.theme;
    const axis: uPlot.Axis = { stroke: t.foreground, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 }, font: t.font };
    const opts: uPlot.Options = {
      width: Math.max(220, this.host.clientWidth || 300),
      height: 220,
      scales: { x: { time: false }, ...(this.axes.yRange ? { y: { range: () => this.axes.yRange! } } : {}) },
      axes: [
        { ...axis, label: this.axes.x, labelFont: t.font, labelSize: 18 },
        { ...axis, label: this.axes.y, labelFont: t.font, labelSize: 18, size: 44 },
      ],
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      series: [{ label: this.axes.x }, ...this.series.map((s, i): uPlot.Series => ({ label: s.label, stroke: t.palette[i % t.palette.length], width: 1.5, points: { show: false } }))],
    };
    const data: uPlot.AlignedData = [this.x, ...this.series.map((s) => this.x.map((_x, i) => s.values?.[i] ?? null))];
    this.plot = new uPlot(opts, data, this.host);
  }
}
