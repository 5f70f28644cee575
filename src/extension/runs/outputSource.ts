/**
 * What a run's pseudo-terminal prints (terminal.ts): a child the editor started gives its output
 * as it arrives; a run found on disk gives its output.log (else log.txt), followed from a byte
 * offset. Without `vscode`, so that it can be unit-tested.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFollower, RUN_FILES } from '../../rundir';
import { humanBytes } from '../../core/format';
import type { ExitInfo } from '../../runs/manager';

/** Something that prints: `onOutput` gives what came so far, then each new piece. */
export interface OutputSource {
  onOutput(listener: (text: string) => void): { dispose(): void };
  /** Resolves when the source ends (a process exits); never for a followed file. */
  readonly exited?: Promise<ExitInfo>;
}

/** What a terminal shows of a run's output file when it opens, and reads of it at most per tick. */
const SHOWN_BYTES = 1 << 20;

/** A run's output file (output.log when the editor started it, else the trainer's log.txt), followed. */
export class FileOutputSource implements OutputSource {
  constructor(private readonly file: string) {}

  static forRun(runDir: string): FileOutputSource {
    const output = path.join(runDir, RUN_FILES.output);
    return new FileOutputSource(fs.existsSync(output) ? output : path.join(runDir, RUN_FILES.log));
  }

  onOutput(listener: (text: string) => void): { dispose(): void } {
    const follower = new FileFollower(this.file);
    // The end of a long log, as `tail -f` shows it: the whole of a 48 MB one took 1.6 GB of the
    // extension host as lines and one string.
    const skipped = follower.skipToEnd(SHOWN_BYTES);
    if (skipped) listener(`--- the first ${humanBytes(skipped)} of ${this.file} are not shown ---\n`);
    const read = () => {
      try {
        const { lines, reset } = follower.read(SHOWN_BYTES);
        if (reset) listener('\n--- the file was rewritten ---\n');
        if (lines.length) listener(lines.map((l) => l + '\n').join(''));
      } catch {
        // unreadable for a moment
      }
    };
    read();
    const timer = setInterval(read, 250);
    return { dispose: () => clearInterval(timer) };
  }
}
