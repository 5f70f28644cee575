/**
 * Colours for canvases, read from VS Code's `--vscode-*` theme variables (canvas drawing cannot
 * use CSS variables directly), and a hook to redraw when the theme changes: VS Code rewrites the
 * variables and the body's `vscode-light|dark|high-contrast` class on every theme switch.
 */

export interface ChartTheme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  font: string;
  /** Line colours, in order of use. */
  palette: string[];
  /** Heat map ends (confusion matrix): empty → full. */
  heatLow: string;
  heatHigh: string;
  kind: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';
}

/** Fallbacks when a variable is missing (a page opened outside VS Code, e.g. an exported report). */
const FALLBACK_PALETTE = ['#3794ff', '#f14c4c', '#89d185', '#cca700', '#d18616', '#b180d7', '#4ec9b0', '#ce9178'];

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v || fallback;
}

export function themeKind(): ChartTheme['kind'] {
  const c = document.body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  if (c.contains('vscode-dark')) return 'dark';
  return window.matchMedia?.('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

export function readTheme(): ChartTheme {
  const style = getComputedStyle(document.body);
  const kind = themeKind();
  const light = kind === 'light' || kind === 'high-contrast-light';
  const foreground = cssVar(style, '--vscode-foreground', light ? '#3b3b3b' : '#cccccc');
  const palette = ['blue', 'red', 'green', 'yellow', 'orange', 'purple'].map((c, i) => cssVar(style, `--vscode-charts-${c}`, FALLBACK_PALETTE[i]));
  palette.push(cssVar(style, '--vscode-terminal-ansiCyan', FALLBACK_PALETTE[6]), cssVar(style, '--vscode-terminal-ansiMagenta', FALLBACK_PALETTE[7]));
  return {
    foreground: cssVar(style, '--vscode-charts-foreground', foreground),
    muted: cssVar(style, '--vscode-descriptionForeground', light ? '#717171' : '#9d9d9d'),
    grid: cssVar(style, '--vscode-charts-lines', light ? 'rgba(0,0,0,0.12)' : 'rgba(255,255,255,0.12)'),
    background: cssVar(style, '--vscode-editor-background', light ? '#ffffff' : '#1e1e1e'),
    font: `${cssVar(style, '--vscode-font-size', '13px')} ${cssVar(style, '--vscode-font-family', 'sans-serif')}`,
    palette,
    heatLow: cssVar(style, '--vscode-editor-background', light ? '#ffffff' : '#1e1e1e'),
    heatHigh: palette[0],
    kind,
  };
}

/** Call `onChange` after every theme switch; returns a function that stops watching. */
export function onThemeChange(onChange: (theme: ChartTheme) => void): () => void {
  let last = JSON.stringify(readTheme());
  const check = () => {
    const t = readTheme();
    const key = JSON.stringify(t);
    if (key !== last) {
      last = key;
      onChange(t);
    }
  };
  const observer = new MutationObserver(check);
  // VS Code changes the body class and the <html> style attribute holding the variables.
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return () => observer.disconnect();
}

/** `color` with alpha `a` (hex #rgb/#rrggbb or rgb()), for faint raw lines under smoothed ones. */
export function withAlpha(color: string, a: number): string {
  const c = color.trim();
  let r: number, g: number, b: number;
  if (/^#[0-9a-f]{3,4}$/i.test(c)) [r, g, b] = [1, 2, 3].map((i) => parseInt(c[i] + c[i], 16));
  else if (/^#[0-9a-f]{6,8}$/i.test(c)) [r, g, b] = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  else {
    const m = /rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/i.exec(c);
    if (!m) return c;
    [r, g, b] = [Number(m[1]), Number(m[2]), Number(m[3])];
  }
  return `rgba(${r}, ${g}, ${b}, ${a})`;
}
