/**
 * The run report: a scrollable page of cells, like a notebook — summary (config, engine, time,
 * best metrics), curves, confusion matrices as heat maps, a gallery of sample predictions
 * (correct / incorrect), nearest-neighbour retrieval, a 2-D projection of features coloured by
 * class, benchmark results. Inside VS Code it talks to the host; exported to a standalone HTML file
 * it reads the data embedded in the page (and no buttons are shown).
 */
import { DEFAULT_CHART_SETTINGS, HostMessageType, PanelKind, RunAction, WebviewMessageType, type HostMessage, type ReportState } from '../../src/extension/protocol';
import { leftOutNote, tableFromJson } from '../../src/report/model/metrics';
import type { DetectionGalleryItem, GalleryItem, ReportData } from '../../src/report/model/report';
import { elapsedSeconds, formatDuration, itersPerEpoch } from '../../src/report/model/run';
import type { EmbeddedReport } from '../../src/report/standalone';
import { ChartBoard } from './charts/chartBoard';
import { Heatmap } from './charts/heatmap';
import { ClassComparisonView } from './compareClasses';
import { Scatter } from './charts/scatter';
import { MetricSplits } from '../../src/report/model/thinning';
import { DataTable, percent, type Cell } from './components/dataTable';
import { clear, h } from './lib/dom';
import './lib/elements';
import { hasHost, initialState, installErrorReporting, onHostMessage, post, saveState, standaloneData } from './lib/host';
import { adoptStyles } from './lib/styles';
import standaloneTheme from './lib/standalone-theme.css';
import { onThemeChange, readTheme } from './lib/theme';

installErrorReporting();
const embedded = standaloneData<EmbeddedReport>();
adoptStyles(...(embedded ? [standaloneTheme] : []));

let state: ReportState | undefined = initialState<ReportState>(PanelKind.Report);
if (state) saveState(state);

const root = h('main', { id: 'report' });
document.body.append(root);

let board: ChartBoard | undefined;
let heatmaps: Heatmap[] = [];
let scatter: Scatter | undefined;
const jobEl = h('div', { class: 'chart-note', id: 'report-job' });

function cell(kind: string, title: string, id: string, ...children: Array<Node | string>): HTMLElement {
  return h('section', { class: 'cell', id }, h('div', { class: 'cell-kind' }, kind), h('h2', null, title), ...children);
}

function button(label: string, onClick: () => void, id: string, secondary = true): HTMLElement {
  const b = h('vscode-button', { id, secondary }, label);
  b.addEventListener('click', onClick);
  return b;
}

function summaryCell(r: ReportData): HTMLElement {
  const s = r.summary;
  const facts: Array<[string, string]> = [
    ['status', s.status],
    ['config', s.configFile ?? s.configStem],
    ['model', s.model ?? '—'],
    ['engine', s.engine ?? '—'],
    ['started', s.started ? new Date(s.started).toLocaleString() : '—'],
    ['time', formatDuration(elapsedSeconds(s))],
    ['iterations', s.maxIters ? `${s.iter} of ${s.maxIters} (${s.epoch} of ${s.maxEpochs} epochs)` : String(s.iter)],
  ];
  const factsEl = h('div', { class: 'facts', id: 'summary-facts' });
  for (const [k, v] of facts) factsEl.append(h('span', { class: 'fact' }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, v)));
  const metrics = Object.entries(s.metrics ?? {});
  const rows: Cell[][] = metrics.map(([k, v]) => [k, v, s.best?.metric === k ? `best at iteration ${s.best.iter}` : '']);
  if (s.best && !s.metrics?.[s.best.metric]) rows.unshift([s.best.metric, s.best.value, `best at iteration ${s.best.iter}`]);
  if (s.lastLoss !== undefined) rows.push(['train/loss (last)', s.lastLoss, '']);
  const children: Array<Node | string> = [factsEl];
  if (rows.length) children.push(new DataTable({ id: 'summary-metrics', columns: [{ label: 'metric' }, { label: 'value', numeric: true }, { label: '' }], rows }).element);
  if (s.error) children.push(h('div', { class: 'error-text' }, s.error));
  if (r.configText) {
    const details = h('vscode-collapsible', { title: 'Resolved config (config.yaml)', id: 'config-collapsible' }, h('pre', { id: 'config-text' }, r.configText));
    children.push(details);
  }
  return cell('summary', `${s.configStem} · ${s.id}`, 'cell-summary', ...children);
}

function curvesCell(r: ReportData): HTMLElement {
  const series = new MetricSplits();
  series.append(r.tables);
  board?.dispose();
  board = new ChartBoard([{ label: r.summary.id, series, clock: { itersPerEpoch: itersPerEpoch(r.summary), startSeconds: r.summary.started ? Date.parse(r.summary.started) / 1000 : undefined } }], DEFAULT_CHART_SETTINGS, readTheme(), 'metrics');
  const note = leftOutNote(r.metricsLeftOut);
  return cell('curves', 'Training curves', 'cell-curves', ...(note ? [h('p', { class: 'muted', id: 'metrics-left-out' }, note)] : []), board.element);
}

function confusionCell(r: ReportData): HTMLElement | undefined {
  if (!r.confusion.length) return undefined;
  heatmaps = r.confusion.map((cm) => new Heatmap(cm, readTheme()));
  const parts: Array<Node | string> = [];
  r.confusion.forEach((cm, i) => {
    const total = cm.matrix.flat().reduce((a, b) => a + b, 0);
    const correct = cm.matrix.reduce((a, row, k) => a + (row[k] ?? 0), 0);
    parts.push(h('h3', null, `${cm.split}: ${total} samples, accuracy ${percent(total ? correct / total : 0)}%`), heatmaps[i].element);
    if (cm.per_class_accuracy) {
      parts.push(
        new DataTable({
          id: `per-class-${cm.split}`,
          columns: [{ label: 'class' }, { label: 'samples', numeric: true }, { label: 'accuracy (%)', numeric: true, format: percent }],
          rows: cm.classes.map((c, k) => [c, cm.matrix[k].reduce((a, b) => a + b, 0), cm.per_class_accuracy![k]]),
          sort: { column: 2, descending: false },
        }).element,
      );
    }
  });
  return cell('evaluation', 'Confusion matrix', 'cell-confusion', ...parts);
}

function thumb(r: ReportData, image: string, cls: string, ...lines: Array<Node | string>): HTMLElement {
  const src = r.images[image];
  return h('div', { class: `thumb ${cls}` }, src ? h('img', { src, alt: image }) : h('div', { class: 'muted' }, 'missing image'), ...lines);
}

function galleryCell(r: ReportData): HTMLElement | undefined {
  const g = r.generated;
  if (!g?.gallery?.length) return undefined;
  const names = g.classes ?? [];
  const grid = h('div', { class: 'gallery', id: 'gallery' });
  const show = (filter: (x: GalleryItem) => boolean) => {
    clear(grid);
    for (const item of g.gallery!.filter(filter)) {
      const truth = item.label !== undefined ? names[item.label] ?? String(item.label) : undefined;
      const cls = item.correct === undefined ? '' : item.correct ? 'correct' : 'incorrect';
      grid.append(
        thumb(
          r,
          item.image,
          cls,
          h('div', { class: 'pred', title: item.topk.map((t) => `${t.name} ${(t.score * 100).toFixed(1)}%`).join('\n') }, item.predictedName),
          h('div', { class: 'score' }, `${(item.score * 100).toFixed(0)}% sure`),
          truth !== undefined ? h('div', { class: 'truth' }, item.correct ? '✓ correct' : `✗ true: ${truth}`) : '',
        ),
      );
    }
  };
  const wrong = g.gallery.filter((x) => x.correct === false).length;
  const tabs = h('div', { class: 'toolbar gallery-filter' });
  const filters: Array<[string, (x: GalleryItem) => boolean]> = [
    [`all (${g.gallery.length})`, () => true],
    [`correct (${g.gallery.length - wrong})`, (x) => x.correct === true],
    [`incorrect (${wrong})`, (x) => x.correct === false],
  ];
  filters.forEach(([label, f], i) => tabs.append(button(label, () => show(f), `gallery-${['all', 'correct', 'incorrect'][i]}`)));
  show(() => true);
  const acc = g.accuracy !== undefined ? ` — ${percent(g.accuracy)}% right` : '';
  return cell('predictions', 'Sample predictions', 'cell-gallery', h('div', { class: 'muted' }, `${g.gallery.length} images of ${g.split}${acc}; weights ${g.checkpoint.replace(/^.*[\\/]/, '')}`), tabs, grid);
}

/** Detectors: each image with its boxes drawn in, the boxes listed (class colours as drawn) and the ground-truth count. */
function detectionsCell(r: ReportData): HTMLElement | undefined {
  const g = r.generated;
  if (!g?.detections?.length) return undefined;
  const colors = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'];
  const grid = h('div', { class: 'gallery', id: 'detections' });
  for (const item of g.detections as DetectionGalleryItem[]) {
    const boxes = item.detections.slice(0, 6).map((d) => {
      const row = h('div', { class: 'pred', title: `[${d.box.join(', ')}]` }, `${d.name} ${(d.score * 100).toFixed(0)}%`);
      // Through the CSSOM: the page's CSP refuses style attributes.
      row.style.color = colors[d.label % colors.length];
      return row;
    });
    const more = item.detections.length > 6 ? h('div', { class: 'score' }, `+${item.detections.length - 6} more`) : '';
    const truth = item.gt ? h('div', { class: 'truth' }, `${item.gt.length} true object${item.gt.length === 1 ? '' : 's'}`) : '';
    grid.append(thumb(r, item.image, '', ...(item.detections.length ? boxes : [h('div', { class: 'score' }, 'no detections')]), more, truth));
  }
  const total = g.detections.reduce((n, d) => n + d.detections.length, 0);
  return cell('predictions', 'Sample detections', 'cell-detections', h('div', { class: 'muted' }, `${g.detections.length} images of ${g.split}, ${total} boxes; weights ${g.checkpoint.replace(/^.*[\\/]/, '')}`), grid);
}

/** Segmentors: image, truth and prediction side by side (class colours as drawn), and the per-class table. */
function segmentationCell(r: ReportData): HTMLElement | undefined {
  const seg = r.generated?.segmentation;
  if (!seg) return undefined;
  const g = r.generated!;
  // Swatches drawn on canvases: the page's CSP allows no inline styles.
  const swatch = (c: [number, number, number] | undefined) => {
    const canvas = h('canvas', { class: 'swatch', width: 12, height: 12, 'aria-hidden': 'true' }) as HTMLCanvasElement;
    const ctx = canvas.getContext('2d');
    if (ctx && c) {
      ctx.fillStyle = `rgb(${c.join(', ')})`;
      ctx.fillRect(0, 0, 12, 12);
    }
    return canvas;
  };
  const legend = h('div', { class: 'toolbar', id: 'segmentation-legend' });
  (seg.metrics?.per_class.map((c) => c.name) ?? g.classes ?? []).forEach((name, k) => legend.append(h('span', { class: 'fact' }, swatch(seg.colors[k]), ` ${name}`)));
  const rows = seg.overlays.map((o) =>
    h(
      'div',
      { class: 'retrieval-row segmentation-row' },
      thumb(r, o.image, '', h('div', { class: 'pred' }, `#${o.index}`)),
      o.truth ? thumb(r, o.truth, '', h('div', { class: 'truth' }, 'truth')) : '',
      thumb(r, o.prediction, '', h('div', { class: 'pred' }, 'prediction')),
    ),
  );
  const parts: Array<Node | string> = [h('div', { class: 'muted' }, `${seg.overlays.length} images of ${g.split}: image, truth, prediction; weights ${g.checkpoint.replace(/^.*[\\/]/, '')}`), legend, ...rows];
  const m = seg.metrics;
  if (m) {
    const pct = (v: number | null) => (v === null ? '—' : (v * 100).toFixed(2));
    parts.push(
      h('h3', null, `${m.split}, ${m.images} images: mIoU ${pct(m.mIoU)}%, mAcc ${pct(m.mAcc)}%, aAcc ${pct(m.aAcc)}%`),
      new DataTable({
        id: `seg-per-class-${m.split}`,
        columns: [{ label: 'class' }, { label: 'IoU (%)', numeric: true, format: (v) => v.toFixed(2) }, { label: 'Acc (%)', numeric: true, format: (v) => v.toFixed(2) }, { label: 'pixels (%)', numeric: true, format: (v) => v.toFixed(2) }],
        rows: m.per_class.map((c) => [c.name, ...[c.iou, c.acc, c.frequency].map((v) => (v === null ? undefined : v * 100))]),
      }).element,
    );
  }
  return cell('predictions', 'Segmentation', 'cell-segmentation', ...parts);
}

function retrievalCell(r: ReportData): HTMLElement | undefined {
  const g = r.generated;
  if (!g?.retrieval?.length) return undefined;
  const names = g.classes ?? [];
  const rows = g.retrieval.map((q) => {
    const qLabel = q.query.label;
    return h(
      'div',
      { class: 'retrieval-row' },
      thumb(r, q.query.image, 'query', h('div', { class: 'pred' }, 'query'), qLabel !== undefined ? h('div', { class: 'truth' }, names[qLabel] ?? String(qLabel)) : ''),
      ...q.neighbours.map((n) => {
        const same = qLabel !== undefined && n.label !== undefined ? (n.label === qLabel ? 'correct' : 'incorrect') : '';
        return thumb(r, n.image, same, h('div', { class: 'pred' }, n.similarity.toFixed(3)), n.label !== undefined ? h('div', { class: 'truth' }, names[n.label] ?? String(n.label)) : '');
      }),
    );
  });
  return cell('features', 'Nearest-neighbour retrieval', 'cell-retrieval', h('div', { class: 'muted' }, 'Cosine similarity of the backbone features; a green frame means the same class as the query.'), ...rows);
}

function projectionCell(r: ReportData): HTMLElement | undefined {
  const p = r.generated?.projection;
  if (!p?.x.length) return undefined;
  scatter = new Scatter(p, r.generated?.classes, readTheme());
  return cell('features', 'Features in two dimensions (PCA)', 'cell-projection', scatter.element);
}

function benchmarksCell(r: ReportData): HTMLElement | undefined {
  if (!r.benchmarks.length) return undefined;
  const rows: Cell[][] = [];
  for (const b of r.benchmarks) for (const [k, v] of Object.entries(b.metrics)) rows.push([b.benchmark, k, v * 100, Object.entries(b.settings).map(([a, x]) => `${a}=${x}`).join(', ')]);
  return cell('benchmarks', 'Frozen-feature benchmarks', 'cell-benchmarks', new DataTable({ id: 'report-benchmarks', columns: [{ label: 'benchmark' }, { label: 'metric' }, { label: 'value (%)', numeric: true, format: (v) => v.toFixed(2) }, { label: 'settings' }], rows }).element);
}

function generateCell(r: ReportData): HTMLElement | undefined {
  if (r.generated || !hasHost()) return undefined;
  return cell(
    'predictions',
    'Predictions',
    'cell-generate',
    h('p', { class: 'muted' }, 'Sample predictions, nearest neighbours and a projection of features are computed by `cvw report` from the run\'s best checkpoint, in a separate process.'),
    button('Generate', () => post({ type: WebviewMessageType.GenerateReport, dir: r.summary.dir }), 'generate-empty', false),
  );
}

let comparison: ClassComparisonView | undefined;

/** `cvw report --compare`: this run and the others class by class (the Compare Runs panel's view). */
function comparisonCell(r: ReportData): HTMLElement | undefined {
  const c = r.comparison;
  if (!c) return undefined;
  comparison = new ClassComparisonView(h('div', { id: 'per-class' }), h('div', { id: 'prediction-diff' }));
  comparison.render(c.classes, c.labels, readTheme());
  return cell('comparison', `Compared with ${c.labels.slice(1).join(', ')}`, 'cell-compare', h('h3', null, 'Per class'), comparison.perClassEl, h('h3', null, 'Predictions that differ'), comparison.predictionsEl);
}

function render(r: ReportData): void {
  clear(root);
  heatmaps = [];
  scatter = undefined;
  comparison = undefined;
  if (hasHost()) {
    const dir = r.summary.dir;
    root.append(
      h(
        'div',
        { class: 'toolbar report-actions' },
        button(r.generated ? 'Generate again' : 'Generate predictions', () => post({ type: WebviewMessageType.GenerateReport, dir }), 'generate'),
        button('Export HTML', () => post({ type: WebviewMessageType.ExportHtml, dir }), 'export-html'),
        button('Dashboard', () => post({ type: WebviewMessageType.RunAction, action: RunAction.OpenDashboard, dir }), 'open-dashboard'),
        jobEl,
      ),
    );
  } else {
    root.append(h('p', { class: 'muted' }, `CV Workbench run report, exported ${new Date().toLocaleString()}.`));
  }
  const cells = [summaryCell(r), curvesCell(r), confusionCell(r), generateCell(r), galleryCell(r), detectionsCell(r), segmentationCell(r), retrievalCell(r), projectionCell(r), comparisonCell(r), benchmarksCell(r)];
  for (const c of cells) if (c) root.append(c);
  board?.update();
  document.title = `Report ${r.summary.configStem} ${r.summary.id}`;
}

onThemeChange((theme) => {
  board?.setTheme(theme);
  for (const hm of heatmaps) hm.setTheme(theme);
  scatter?.setTheme(theme);
  comparison?.setTheme(theme);
});

if (embedded) {
  render({ ...embedded, tables: embedded.tables.map(tableFromJson) });
} else {
  onHostMessage((msg: HostMessage) => {
    switch (msg.type) {
      case HostMessageType.Report:
        state = { kind: PanelKind.Report, dir: msg.report.summary.dir };
        saveState(state);
        render(msg.report);
        break;
      case HostMessageType.ReportJob:
        jobEl.textContent = msg.state === 'running' ? `cvw report: ${msg.text}` : msg.state === 'finished' ? 'Predictions computed.' : `cvw report failed:\n${msg.text}`;
        jobEl.className = msg.state === 'failed' ? 'error-text' : 'chart-note';
        break;
      case HostMessageType.RunSnapshot:
      case HostMessageType.RunSummary:
      case HostMessageType.MetricsAppended:
      case HostMessageType.CompareRuns:
      case HostMessageType.Benchmarks:
      case HostMessageType.TableRows:
        break;
      default: {
        const unhandled: never = msg;
        throw new Error(`report: unknown message ${JSON.stringify(unhandled)}`);
      }
    }
  });
  post({ type: WebviewMessageType.Ready });
}

(window as unknown as { cvwReport: unknown }).cvwReport = { charts: () => board?.chartList() ?? [], heatmaps: () => heatmaps };
