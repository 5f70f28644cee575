/** Progress for people: durations, rates and a one-line status that redraws on a terminal. */

/** `42s`, `3m05s`, `1h02m`, `2d03h`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** A number in 4 significant digits, or scientific notation when small (learning rates). */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(2);
  return Number(x.toPrecision(4)).toString();
}

/**
 * A status line on stderr, redrawn in place on a terminal. Not on a terminal (CI logs, pipes) it
 * stays silent: the log lines every `log_interval` iterations say the same without the noise.
 */
export class StatusLine {
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {}

  private get tty(): boolean {
    return !!this.stream.isTTY;
  }

  /**
   * Replace the status line on a terminal; elsewhere the periodic log lines carry the progress.
   * A function is called only then (what it reads, such as the process's memory, costs nothing off a terminal).
   */
  update(line: string | (() => string)): void {
    if (!this.enabled || !this.tty) return;
    const text = typeof line === 'function' ? line() : line;
    const width = this.stream.columns ?? 120;
    this.stream.write(`\r\x1b[2K${text.length > width - 1 ? text.slice(0, width - 1) : text}`);
    this.shown = true;
  }

  /** Print a normal line above the status line. */
  print(text: string): void {
    if (!this.enabled) return;
    if (this.tty && this.shown) {
      this.stream.write('\r\x1b[2K');
      this.shown = false;
    }
    this.stream.write(text + '\n');
  }

  done(): void {
    if (this.tty && this.shown) this.stream.write('\n');
    this.shown = false;
  }
}

/** `[#######.............]` */
export function bar(fraction: number, width = 20): string {
  const n = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}
