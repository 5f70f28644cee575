/**
 * A progress line on stderr for the `cvw data` commands: a redrawn bar on a terminal, a few
 * plain lines (every 25%) when stderr is a file or a pipe, nothing when quiet.
 */
import { humanBytes } from '../../core/format';

export interface Progress {
  update(done: number, total?: number): void;
  finish(message?: string): void;
}

export function human(n: number, unit: 'bytes' | 'items'): string {
  return unit === 'items' ? String(n) : humanBytes(n);
}

export function progressBar(label: string, unit: 'bytes' | 'items', quiet = false): Progress {
  const tty = process.stderr.isTTY === true;
  const start = Date.now();
  let lastDraw = 0;
  let lastQuarter = -1;
  let drawn = false;
  const line = (done: number, total?: number) => {
    const secs = Math.max(1e-3, (Date.now() - start) / 1000);
    const rate = `${human(Math.round(done / secs), unit)}/s`;
    if (total === undefined || !(total > 0)) return `${label} ${human(done, unit)} ${rate}`;
    const frac = Math.min(1, done / total);
    const width = 24;
    const filled = Math.round(frac * width);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${human(done, unit)}/${human(total, unit)} ${rate}`;
  };
  return {
    update(done, total) {
      if (quiet) return;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && done !== total) return;
        lastDraw = now;
        process.stderr.write(`\r${line(done, total)}\x1b[K`);
        drawn = true;
      } else if (total) {
        const quarter = Math.floor((done / total) * 4);
        if (quarter > lastQuarter) {
          lastQuarter = quarter;
          process.stderr.write(line(done, total) + '\n');
        }
      }
    },
    finish(message) {
      if (quiet) return;
      if (tty && drawn) process.stderr.write('\r\x1b[K');
      if (message) process.stderr.write(message + '\n');
    },
  };
}
