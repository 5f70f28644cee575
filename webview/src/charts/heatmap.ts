/**
 * A confusion matrix as a heat map on a canvas: rows are true classes, columns predicted ones;
 * a cell's colour is its share of its row (recall), its text the count. Class names along both
 * axes. Redrawn for the device pixel ratio and on theme changes. `HeatmapStyle` draws other
 * matrices the same way: row shares in percent, or signed differences of shares (Compare Runs).
 */
import type { ConfusionMatrix } from '../../../src/report/model/report';
import { h } from '../lib/dom';
import type { ChartTheme } from '../lib/theme';
import { mix, textOn } from './colors';

/** A matrix of values on class × class (null: no value, drawn empty). */
export interface ClassMatrix {
  split: string;
  classes: string[];
  matrix: Array<Array<number | null>>;
}

/** How a cell is drawn: its colour and its text (empty: none) from its value and its row's sum. */
export interface HeatmapStyle {
  color(v: number, rowSum: number, t: ChartTheme): string;
  text(v: number): string;
  label: string;
}

/** Counts, coloured by their share of the row. */
export const COUNT_STYLE: HeatmapStyle = {
  color: (v, sum, t) => mix(t.heatLow, t.heatHigh, Math.sqrt(v / (sum || 1))),
  text: (v) => (v > 0 ? String(v) : ''),
  label: 'confusion matrix',
};

/** Shares of the row (0-1) in percent. */
export const SHARE_STYLE: HeatmapStyle = {
  color: (v, _sum, t) => mix(t.heatLow, t.heatHigh, Math.sqrt(v)),
  text: (v) => (v > 0 ? String(Math.round(v * 100)) : ''),
  label: 'confusion matrix in percent of each true class',
};

/** Differences of shares (-1..1) in percentage points: more in the theme's green, less in its red. */
export const DIFF_STYLE: HeatmapStyle = {
  color: (v, _sum, t) => mix(t.heatLow, v >= 0 ? t.palette[2] : t.palette[1], Math.sqrt(Math.abs(v))),
  text: (v) => (Math.round(v * 100) !== 0 ? `${v > 0 ? '+' : ''}${Math.round(v * 100)}` : ''),
  label: 'difference of confusion matrices in percentage points of each true class',
};

export class Heatmap {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;

  constructor(
    private readonly cm: ConfusionMatrix | ClassMatrix,
    private theme: ChartTheme,
    private readonly style: HeatmapStyle = COUNT_STYLE,
  ) {
    this.canvas = h('canvas', { class: 'heatmap', role: 'img', 'aria-label': `${style.label} of ${cm.split}: rows are true classes, columns predicted` });
    this.element = h('figure', { class: 'heatmap-figure', 'data-split': cm.split }, this.canvas);
    this.draw();
  }

  setTheme(theme: ChartTheme): void {
    this.theme = theme;
    this.draw();
  }

  draw(): void {
    const { classes, matrix } = this.cm;
    const n = classes.length;
    const t = this.theme;
    const cell = n <= 12 ? 40 : n <= 30 ? 22 : 12;
    const ctx0 = this.canvas.getContext('2d')!;
    ctx0.font = t.font;
    const labelWidth = Math.min(160, Math.max(...classes.map((c) => ctx0.measureText(c).width)) + 12);
    const left = labelWidth + 18;
    const top = labelWidth + 18;
    const width = left + n * cell + 8;
    const height = top + n * cell + 8;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = t.font;
    ctx.textBaseline = 'middle';
    for (let r = 0; r < n; r++) {
      const row: Array<number | null> = matrix[r] ?? [];
      const total = row.reduce<number>((a, b) => a + (b ?? 0), 0);
      for (let c = 0; c < n; c++) {
        const v = row[c];
        if (v === null || v === undefined) continue;
        const bg = this.style.color(v, total, t);
        ctx.fillStyle = bg;
        ctx.fillRect(left + c * cell, top + r * cell, cell - 1, cell - 1);
        const text = cell >= 22 ? this.style.text(v) : '';
        if (text) {
          ctx.fillStyle = textOn(bg);
          ctx.textAlign = 'center';
          ctx.fillText(text, left + c * cell + cell / 2, top + r * cell + cell / 2);
        }
      }
    }
    ctx.fillStyle = t.foreground;
    ctx.textAlign = 'right';
    for (let r = 0; r < n; r++) ctx.fillText(fit(ctx, classes[r], labelWidth - 6), left - 6, top + r * cell + cell / 2);
    ctx.save();
    for (let c = 0; c < n; c++) {
      ctx.save();
      ctx.translate(left + c * cell + cell / 2, top - 6);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(fit(ctx, classes[c], labelWidth - 6), 0, 0);
      ctx.restore();
    }
    ctx.restore();
    ctx.fillStyle = t.muted;
    ctx.textAlign = 'center';
    ctx.fillText('predicted', left + (n * cell) / 2, 9);
    ctx.save();
    ctx.translate(9, top + (n * cell) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText('true class', 0, 0);
    ctx.restore();
  }
}

function fit(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let s = text;
  while (s.length > 1 && ctx.measureText(s + '…').width > width) s = s.slice(0, -1);
  return s + '…';
}
