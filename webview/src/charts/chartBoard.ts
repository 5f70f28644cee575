/**
 * A grid of metric charts over one or more runs, kept current: rows are appended to the runs'
 * series as messages arrive, and the charts whose rows changed redraw once in the next animation
 * frame — so a burst of appends costs one redraw per chart, whatever the message rate.
 */
import type { ChartSettings } from '../../../src/extension/protocol';
import { h } from '../lib/dom';
import type { ChartTheme } from '../lib/theme';
import { chartGroups, comparisonCharts, type ChartSpec } from './chartGroups';
import { MetricChart, ZoomGroup, type LineSource } from './metricChart';
import type { MetricSplits } from '../../../src/report/model/thinning';
import type { RunClock } from './xAxis';

export interface BoardRun {
  /** Legend label when several runs share a chart. */
  label: string;
  series: MetricSplits;
  clock: RunClock;
}

export class ChartBoard {
  readonly element = h('div', { class: 'charts' });
  readonly zoom = new ZoomGroup();
  private charts: MetricChart[] = [];
  private layoutKey = '';
  private frame?: number;
  /** Series versions last drawn, per chart. */
  private drawn = new Map<MetricChart, string>();

  constructor(
    private runs: BoardRun[],
    private settings: ChartSettings,
    private theme: ChartTheme,
    /** `runs`: every metric its own chart with a line per run; `metrics`: the dashboard's groups. */
    private readonly mode: 'metrics' | 'runs',
  ) {}

  setRuns(runs: BoardRun[]): void {
    this.runs = runs;
    this.layoutKey = '';
    this.update();
    // Same rows but perhaps another clock (epoch length, start time): redraw everything.
    this.drawn.clear();
    this.schedule();
  }

  /** Rows were appended: relayout when new metrics appeared, else redraw the changed charts next frame. */
  update(): void {
    const key = this.computeLayoutKey();
    if (key !== this.layoutKey) {
      this.layoutKey = key;
      this.layout();
      return;
    }
    this.schedule();
  }

  setSettings(settings: ChartSettings): void {
    this.settings = settings;
    for (const c of this.charts) c.setSettings(settings);
  }

  setTheme(theme: ChartTheme): void {
    this.theme = theme;
    this.charts.forEach((c, i) => c.setTheme(theme, this.colorsFor(this.specs()[i])));
  }

  chartList(): readonly MetricChart[] {
    return this.charts;
  }

  dispose(): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  private columns(): Map<string, string[]> {
    const cols = new Map<string, string[]>();
    for (const run of this.runs) {
      for (const s of run.series.all()) {
        const list = cols.get(s.split) ?? [];
        for (const k of s.keys()) if (!list.includes(k)) list.push(k);
        cols.set(s.split, list);
      }
    }
    // train first, then evaluation splits in order of appearance
    return new Map([...cols].sort((a, b) => (a[0] === 'train' ? -1 : b[0] === 'train' ? 1 : 0)));
  }

  private specs(): ChartSpec[] {
    const cols = this.columns();
    return this.mode === 'metrics' ? chartGroups(cols) : comparisonCharts(cols);
  }

  private computeLayoutKey(): string {
    return JSON.stringify([this.runs.map((r) => r.label), this.specs().map((s) => [s.id, s.keys])]);
  }

  private colorsFor(spec: ChartSpec | undefined): string[] {
    if (!spec) return [];
    const p = this.theme.palette;
    if (this.mode === 'runs') return this.runs.map((_r, i) => p[i % p.length]);
    return spec.keys.map((_k, i) => p[i % p.length]);
  }

  private sourcesFor(spec: ChartSpec): LineSource[] {
    const colors = this.colorsFor(spec);
    const out: LineSource[] = [];
    if (this.mode === 'runs') {
      this.runs.forEach((run, i) => {
        const series = run.series.split(spec.split);
        if (series?.has(spec.keys[0])) out.push({ label: run.label, color: colors[i], series, key: spec.keys[0], clock: run.clock, smoothable: spec.split === 'train' });
      });
    } else {
      const run = this.runs[0];
      const series = run?.series.split(spec.split);
      if (series) spec.keys.forEach((k, i) => out.push({ label: k, color: colors[i], series, key: k, clock: run.clock, smoothable: spec.split === 'train' }));
    }
    return out;
  }

  /**
   * Put a chart per spec on the page, keeping the charts whose spec is unchanged (a new evaluation
   * split or metric adds a chart; it does not redraw the others from scratch).
   */
  private layout(): void {
    const specs = this.specs();
    const keyOf = (spec: ChartSpec) => JSON.stringify([spec.id, spec.keys]);
    const old = new Map(this.charts.map((c) => [c.layoutKey, c] as const));
    const next: MetricChart[] = [];
    const fresh: MetricChart[] = [];
    for (const spec of specs) {
      const key = keyOf(spec);
      let chart = old.get(key);
      if (chart) {
        old.delete(key);
        chart.setSources(this.sourcesFor(spec));
      } else {
        chart = new MetricChart(spec.id, spec.title, spec.yLabel, this.sourcesFor(spec), this.settings, this.theme, this.zoom);
        chart.layoutKey = key;
        fresh.push(chart);
      }
      next.push(chart);
    }
    for (const c of old.values()) {
      c.destroy();
      this.drawn.delete(c);
    }
    this.charts = next;
    this.element.querySelector('#no-metrics')?.remove();
    if (!next.length) {
      this.element.append(h('div', { class: 'empty', id: 'no-metrics' }, 'No metrics yet: the charts appear with the first line of metrics.jsonl.'));
      return;
    }
    // In spec order; moving a node keeps its canvas.
    for (const c of next) this.element.append(c.element);
    // uPlot measures its container: mount once the cards are in the document.
    const mount = () => {
      for (const c of fresh) {
        c.mount();
        this.drawn.set(c, this.versionOf(c));
      }
      this.schedule();
    };
    if (this.element.isConnected) mount();
    else requestAnimationFrame(mount);
  }

  private versionOf(c: MetricChart): string {
    return c.dataVersion();
  }

  private schedule(): void {
    if (this.frame !== undefined) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      for (const c of this.charts) {
        const v = this.versionOf(c);
        if (this.drawn.get(c) === v) continue;
        this.drawn.set(c, v);
        c.refresh();
      }
    });
  }
}
