/** Categorical colours for classes: the theme's chart colours first, then evenly spaced hues. */
import type { ChartTheme } from '../lib/theme';

export function classColors(theme: ChartTheme, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(i < theme.palette.length ? theme.palette[i] : `hsl(${Math.round(((i - theme.palette.length) * 360) / Math.max(1, n - theme.palette.length) + 15)}, 65%, 55%)`);
  return out;
}

/** Parse `#rgb`, `#rrggbb` or `rgb[a](...)` to [r, g, b] (0-255); black when unreadable. */
export function parseColor(color: string): [number, number, number] {
  const c = color.trim();
  if (/^#[0-9a-f]{3,4}$/i.test(c)) return [1, 2, 3].map((i) => parseInt(c[i] + c[i], 16)) as [number, number, number];
  if (/^#[0-9a-f]{6,8}$/i.test(c)) return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
  const m = /rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/i.exec(c);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

/** The colour `t` (0-1) of the way from `a` to `b`. */
export function mix(a: string, b: string, t: number): string {
  const x = parseColor(a);
  const y = parseColor(b);
  const k = Math.max(0, Math.min(1, t));
  return `rgb(${x.map((v, i) => Math.round(v + (y[i] - v) * k)).join(', ')})`;
}

/** Black or white text, whichever reads better on `background`. */
export function textOn(background: string): string {
  const [r, g, b] = parseColor(background);
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? '#000000' : '#ffffff';
}
