/**
 * A 2-D projection of features (PCA) as a scatter plot on a canvas, a point per sample coloured
 * by its class, with a legend of class names. Hovering a point names its class.
 */
import type { Projection } from '../../../src/report/model/report';
import { h } from '../lib/dom';
import type { ChartTheme } from '../lib/theme';
import { classColors } from './colors';

const SIZE = 420;
const PAD = 28;

export class Scatter {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly legend: HTMLElement;
  private readonly tip: HTMLElement;

  constructor(
    private readonly p: Projection,
    private readonly classes: string[] | undefined,
    private theme: ChartTheme,
  ) {
    this.canvas = h('canvas', { class: 'scatter', role: 'img', 'aria-label': `PCA projection of ${p.x.length} feature vectors` });
    this.legend = h('div', { class: 'legend-swatches projection-legend' });
    this.tip = h('div', { class: 'chart-note', id: 'projection-hover' }, '\u00a0');
    this.element = h('figure', { class: 'scatter-figure' }, this.canvas, this.legend, this.tip);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.draw();
  }

  setTheme(theme: ChartTheme): void {
    this.theme = theme;
    this.draw();
  }

  private bounds() {
    const xs = this.p.x;
    const ys = this.p.y;
    const minX = Math.min(...xs);
    const maxX = Math.max(...xs);
    const minY = Math.min(...ys);
    const maxY = Math.max(...ys);
    const span = Math.max(maxX - minX, maxY - minY) || 1;
    const cx = (minX + maxX) / 2;
    const cy = (minY + maxY) / 2;
    const scale = (SIZE - 2 * PAD) / span;
    return { toX: (x: number) => SIZE / 2 + (x - cx) * scale, toY: (y: number) => SIZE / 2 - (y - cy) * scale };
  }

  private labelsPresent(): number[] {
    return [...new Set(this.p.labels.filter((l) => l >= 0))].sort((a, b) => a - b);
  }

  private colorOf(label: number, colors: string[]): string {
    return label < 0 ? this.theme.muted : colors[label % colors.length];
  }

  draw(): void {
    const t = this.theme;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = SIZE * dpr;
    this.canvas.height = SIZE * dpr;
    this.canvas.style.width = `${SIZE}px`;
    this.canvas.style.height = `${SIZE}px`;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, SIZE, SIZE);
    ctx.strokeStyle = t.grid;
    ctx.strokeRect(0.5, 0.5, SIZE - 1, SIZE - 1);
    const n = Math.max(this.classes?.length ?? 0, ...this.p.labels.map((l) => l + 1));
    const colors = classColors(t, n);
    const { toX, toY } = this.bounds();
    ctx.globalAlpha = 0.85;
    for (let i = 0; i < this.p.x.length; i++) {
      ctx.fillStyle = this.colorOf(this.p.labels[i], colors);
      ctx.beginPath();
      ctx.arc(toX(this.p.x[i]), toY(this.p.y[i]), 3, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    ctx.fillStyle = t.muted;
    ctx.font = t.font;
    ctx.textAlign = 'center';
    ctx.fillText(`PC1 (${(this.p.explained[0] * 100).toFixed(1)}% of variance)`, SIZE / 2, SIZE - 8);
    ctx.save();
    ctx.translate(12, SIZE / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(`PC2 (${(this.p.explained[1] * 100).toFixed(1)}%)`, 0, 0);
    ctx.restore();
    this.legend.replaceChildren();
    for (const l of this.labelsPresent()) {
      const sw = h('span', { class: 'sw' });
      sw.style.background = colors[l % colors.length];
      this.legend.append(h('span', { class: 'legend-item' }, sw, this.classes?.[l] ?? `class ${l}`));
    }
  }

  private hover(e: MouseEvent): void {
    const r = this.canvas.getBoundingClientRect();
    const mx = e.clientX - r.left;
    const my = e.clientY - r.top;
    const { toX, toY } = this.bounds();
    let best = -1;
    let bestD = 64;
    for (let i = 0; i < this.p.x.length; i++) {
      const d = (toX(this.p.x[i]) - mx) ** 2 + (toY(this.p.y[i]) - my) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    const l = best >= 0 ? this.p.labels[best] : undefined;
    this.tip.textContent = best < 0 ? '\u00a0' : `sample ${best}: ${l !== undefined && l >= 0 ? this.classes?.[l] ?? `class ${l}` : 'unlabelled'}`;
  }
}
