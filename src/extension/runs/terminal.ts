/**
 * Pseudo-terminals that show what a `cvw` process prints: a child the editor started (its output,
 * from the beginning, as it arrives) or a run found on disk (its output.log, else log.txt,
 * followed from a byte offset). Ctrl+C in the terminal stops the run as in a shell.
 */
import * as vscode from 'vscode';
import type { OutputSource } from './outputSource';

export interface PtyOptions {
  /** A first line, dimmed (the command line). */
  header?: string;
  /** Ctrl+C typed in the terminal. */
  onInterrupt?: () => void;
  /** The terminal was closed by the user. */
  onClose?: () => void;
  /** Close the terminal (reporting the exit code, for tasks) when the source ends. */
  closeOnExit?: boolean;
}

const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

export class OutputPty implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private subscription: { dispose(): void } | undefined;
  private closed = false;

  constructor(
    private readonly source: OutputSource,
    private readonly options: PtyOptions = {},
  ) {}

  open(): void {
    if (this.options.header) this.write(`${DIM}${this.options.header}${RESET}\n`);
    this.subscription = this.source.onOutput((text) => this.write(text));
    void this.source.exited?.then((exit) => {
      if (this.closed) return;
      const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
      this.write(`\n${DIM}[${how}]${RESET}\n`);
      if (this.options.closeOnExit) {
        this.dispose();
        this.closeEmitter.fire(exit.code ?? 1);
      }
    });
  }

  handleInput(data: string): void {
    if (data === '\x03') {
      this.write(`^C\n`);
      this.options.onInterrupt?.();
    }
  }

  close(): void {
    if (this.closed) return;
    this.dispose();
    this.options.onClose?.();
  }

  private dispose(): void {
    this.closed = true;
    this.subscription?.dispose();
    this.subscription = undefined;
  }

  private write(text: string): void {
    this.writeEmitter.fire(text.replace(/\r?\n/g, '\r\n'));
  }
}
