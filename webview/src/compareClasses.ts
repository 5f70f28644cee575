/**
 * Compare Runs' class-by-class part (src/report/model/classCompare.ts): per evaluated split, the
 * confusion matrices side by side (percent of each true class) with each run's difference from
 * the first, each per-class metric as bars per run and a table with deltas, detectors'
 * precision-recall curves per class with a line per run, and a gallery of the
 * images whose predicted class differs from the first run's.
 */
import type { ClassComparison, ClassMetricTable, PredictionDiff, SplitComparison } from '../../src/report/model/classCompare';
import { BarChart } from './charts/barChart';
import { DIFF_STYLE, Heatmap, SHARE_STYLE } from './charts/heatmap';
import { LineChart } from './charts/lineChart';
import { DataTable, type Cell, type Column } from './components/dataTable';
import { clear, h } from './lib/dom';
import type { ChartTheme } from './lib/theme';

const pct = (v: number) => (v * 100).toFixed(1);

/** The rendered section; its charts follow theme changes. */
export class ClassComparisonView {
  private heatmaps: Heatmap[] = [];
  private bars: BarChart[] = [];
  private lines: LineChart[] = [];

  constructor(
    readonly perClassEl: HTMLElement,
    readonly predictionsEl: HTMLElement,
  ) {}

  render(cmp: ClassComparison | undefined, labels: string[], theme: ChartTheme): void {
    this.destroy();
    clear(this.perClassEl);
    clear(this.predictionsEl);
    const splits = cmp?.splits ?? [];
    if (!splits.some((s) => s.confusion || s.tables.length)) {
      this.perClassEl.append(h('div', { class: 'empty', id: 'no-per-class' }, 'No per-class results: evaluate the runs (an eval_pipelines evaluator, or cvw eval) to compare them class by class.'));
    }
    if (!splits.some((s) => s.predictions.length)) {
      this.predictionsEl.append(h('div', { class: 'empty', id: 'no-prediction-diff' }, "No per-image predictions in both the first and another run: ClsEvaluator writes them (eval/<split>_predictions.json) when a classifier is evaluated."));
    }
    for (const s of splits) {
      if (s.confusion || s.tables.length) this.perClassEl.append(this.splitSection(s, labels, theme));
      for (const d of s.predictions) this.predictionsEl.append(predictionGallery(s.split, d, labels));
    }
    requestAnimationFrame(() => [...this.bars, ...this.lines].forEach((b) => b.mount()));
  }

  setTheme(theme: ChartTheme): void {
    for (const hm of this.heatmaps) hm.setTheme(theme);
    for (const b of [...this.bars, ...this.lines]) b.setTheme(theme);
  }

  /** The canvases, for tests. */
  charts(): { heatmaps: Heatmap[]; bars: BarChart[]; lines: LineChart[] } {
    return { heatmaps: this.heatmaps, bars: this.bars, lines: this.lines };
  }

  private destroy(): void {
    for (const b of [...this.bars, ...this.lines]) b.destroy();
    this.bars = [];
    this.lines = [];
    this.heatmaps = [];
  }

  private splitSection(s: SplitComparison, labels: string[], theme: ChartTheme): HTMLElement {
    const section = h('div', { class: 'per-class-split', 'data-split': s.split }, h('h3', null, s.split));
    if (s.confusionOmitted) section.append(h('div', { class: 'muted confusion-omitted' }, `${s.confusionOmitted} classes: too many for confusion matrices side by side; the per-class table below compares them.`));
    const c = s.confusion;
    if (c) {
      const row = h('div', { class: 'heatmap-row' });
      c.normalized.forEach((m, r) => {
        if (!m) return;
        const hm = new Heatmap({ split: s.split, classes: c.classes, matrix: m }, theme, SHARE_STYLE);
        this.heatmaps.push(hm);
        hm.element.dataset.run = String(r);
        row.append(h('div', { class: 'heatmap-cell' }, h('div', { class: 'muted' }, `${labels[r]} (% of each true class)`), hm.element));
      });
      c.diff.forEach((m, r) => {
        if (!m) return;
        const hm = new Heatmap({ split: s.split, classes: c.classes, matrix: m }, theme, DIFF_STYLE);
        this.heatmaps.push(hm);
        hm.element.dataset.diff = String(r);
        row.append(h('div', { class: 'heatmap-cell' }, h('div', { class: 'muted' }, `${labels[r]} − ${labels[0]} (points)`), hm.element));
      });
      section.append(row);
    }
    for (const t of s.tables) {
      const id = `per-class:${s.split}:${t.metric}`;
      const bar = new BarChart(id, `${t.metric} per class (%)`, t.classes, t.values.map((v, r) => ({ label: labels[r], values: v.map((x) => (x === null ? undefined : x * 100)) })), theme, (v) => v.toFixed(1));
      this.bars.push(bar);
      section.append(bar.element, metricTable(id, t, labels));
    }
    const pr = s.prCurves;
    if (pr) {
      const grid = h('div', { class: 'charts pr-curves' });
      pr.classes.forEach((c, k) => {
        const chart = new LineChart(`pr:${s.split}:${c}`, `${c}: precision-recall at IoU 0.5`, pr.recall, pr.precision.map((runCurves, r) => ({ label: labels[r], values: runCurves[k] })), theme, { x: 'recall', y: 'precision', yRange: [0, 1.02] });
        this.lines.push(chart);
        grid.append(chart.element);
      });
      section.append(grid);
    }
    return section;
  }
}

/** class | each run's value | each later run's delta from the first (percent, percentage points). */
function metricTable(id: string, t: ClassMetricTable, labels: string[]): HTMLElement {
  const columns: Column[] = [
    { label: 'class' },
    ...labels.map((l): Column => ({ label: `${t.metric} ${l}`, numeric: true, format: (v) => v.toFixed(1) })),
    ...labels.slice(1).map((l): Column => ({ label: `Δ ${l}`, numeric: true, format: (v) => `${v > 0 ? '+' : ''}${v.toFixed(1)}` })),
  ];
  const percent = (v: number | null) => (v === null ? undefined : v * 100);
  const rows: Cell[][] = t.classes.map((c, k) => [c, ...t.values.map((v) => percent(v[k])), ...t.deltas.slice(1).map((d) => percent(d[k]))]);
  return new DataTable({ id: `${id}:table`.replace(/[^\w-]/g, '-'), columns, rows }).element;
}

function predictionGallery(split: string, d: PredictionDiff, labels: string[]): HTMLElement {
  const [a, b] = [labels[0], labels[d.run]];
  const summary = `${split}: ${d.changed} of ${d.compared} images predicted differently by ${b} than by ${a} — ${d.fixed} fixed, ${d.broken} broken${d.items.length < d.changed ? ` (first ${d.items.length} shown)` : ''}. Each image: its number and true class, then ${a}'s prediction, then ${b}'s.`;
  const grid = h('div', { class: 'gallery prediction-diff', 'data-split': split, 'data-run': String(d.run) });
  for (const it of d.items) {
    const mark = (k: 0 | 1) => (it.correct === undefined ? '' : it.correct[k] ? ' ✓' : ' ✗');
    const cls = it.correct === undefined ? '' : it.correct[1] && !it.correct[0] ? 'correct' : !it.correct[1] && it.correct[0] ? 'incorrect' : '';
    grid.append(
      h(
        'div',
        { class: `thumb ${cls}`, 'data-index': String(it.index) },
        it.image ? h('img', { src: it.image, alt: `${split} #${it.index}` }) : h('div', { class: 'muted' }, 'no thumbnail (cvw report makes them)'),
        h('div', { class: 'truth' }, it.label === undefined ? `#${it.index}` : `#${it.index} ${it.label}`),
        h('div', { class: 'pred', title: a }, `${it.predicted[0]}${mark(0)}`, h('span', { class: 'score' }, ` ${pct(it.score[0])}%`)),
        h('div', { class: 'pred', title: b }, `${it.predicted[1]}${mark(1)}`, h('span', { class: 'score' }, ` ${pct(it.score[1])}%`)),
      ),
    );
  }
  return h('div', { class: 'prediction-diff-block' }, h('div', { class: 'muted prediction-diff-summary' }, summary), grid);
}
