/**
 * A confusion matrix as a heat map on a canvas: rows are true classes, columns predicted ones;
 * a cell's colour is its share of its row (recall), its text the count. Class names along both
 * axes. Redrawn for the device pixel ratio and on theme changes.
 */
import type { ConfusionMatrix } from '../../../src/report/model/report';
import { h } from '../lib/dom';
import type { ChartTheme } from '../lib/theme';
import { mix, textOn } from './colors';

export class Heatmap {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;

  constructor(
    private readonly cm: ConfusionMatrix,
    private theme: ChartTheme,
  ) {
    this.canvas = h('canvas', { class: 'heatmap', role: 'img', 'aria-label': `confusion matrix of ${cm.split}: rows are true classes, columns predicted` });
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
      const total = matrix[r].reduce((a, b) => a + b, 0) || 1;
      for (let c = 0; c < n; c++) {
        const v = matrix[r][c];
        const share = v / total;
        const bg = mix(t.heatLow, t.heatHigh, Math.sqrt(share));
        ctx.fillStyle = bg;
        ctx.fillRect(left + c * cell, top + r * cell, cell - 1, cell - 1);
        if (cell >= 22 && v > 0) {
          ctx.fillStyle = textOn(bg);
          ctx.textAlign = 'center';
          ctx.fillText(String(v), left + c * cell + cell / 2, top + r * cell + cell / 2);
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
