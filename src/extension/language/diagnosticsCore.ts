/**
 * What the config diagnostics show, decided without VS Code: which configs are followed, what each
 * depends on (its `_base_` files, its custom modules, files it could not find), which of them a
 * change re-checks, and the problems each file shows — the validator of `cvw validate`
 * (`checkConfig`) fed with the editor's unsaved buffers, so the editor shows the CLI's messages at
 * the CLI's positions. The editor side (diagnostics.ts) turns events into calls here and the
 * problems into vscode.Diagnostics.
 *
 * A problem is shown in the file that wrote the bad value, exactly as the CLI names it: a mistake
 * in `_base_/runtime.yaml` appears under that file, whichever config pulled it in.
 */
import * as path from 'node:path';
import { checkConfig, type CheckOptions } from '../../core/check';
import { customImportFiles } from '../../core/customImports';
import { COMMAND_LINE, type Problem } from '../../core/problems';
import { CONFIG_FILE_PATTERN } from '../configDetection';

/** Typing pauses shorter than this do not trigger a check. */
export const DIAGNOSTICS_DELAY_MS = 300;

/** What the diagnostics offer the commands and the e2e tests (the extension's API). */
export interface ConfigDiagnostics {
  /**
   * Check a config now and publish its problems; `keep` keeps them after its editor closes (for
   * explicit "Validate" commands). Returns every problem, in any file, as `cvw validate` would.
   */
  checkNow(file: string, options?: { keep?: boolean }): Problem[];
  /** Resolves when no check is pending (tests and commands that want settled diagnostics). */
  settled(): Promise<void>;
}

/** What the engine needs from the editor. */
export interface DiagnosticsHost {
  /** The text of every open buffer (possibly unsaved), by absolute path. */
  openTexts(): ReadonlyMap<string, string>;
  /** True when an editor holds `file` and it is a config. */
  isOpenConfig(file: string): boolean;
  /** Show `problems` under `file`, replacing what it showed. */
  show(file: string, problems: readonly Problem[]): void;
  /** Show nothing under `file`. */
  clear(file: string): void;
  /** Before a check: make the registry ready (built-ins registered). */
  prepare?(): void;
  /** Options the environment sets for every check (no custom modules in an untrusted workspace). */
  checkOptions?(): Pick<CheckOptions, 'customImports' | 'customImportsOffReason'>;
  /** Where internal failures of the checker are written (the extension's output channel). */
  log?(line: string): void;
}

/** What one checked config (an "entry") contributed, and what it depends on. */
interface Entry {
  problems: Problem[];
  /** The entry and every base file it read. */
  files: Set<string>;
  /** Modules its `custom_imports` load. */
  customModules: Set<string>;
  /** Files it could not find (a `_base_` not yet created): their creation re-checks it. */
  missing: boolean;
  /** Checked by a command rather than because it is open: kept when its editor closes. */
  kept: boolean;
}

export class DiagnosticsEngine implements ConfigDiagnostics {
  private readonly entries = new Map<string, Entry>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** What each file currently shows, as a signature, so unchanged files are not shown again. */
  private readonly published = new Map<string, string>();
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly host: DiagnosticsHost,
    private readonly delayMs = DIAGNOSTICS_DELAY_MS,
  ) {}

  checkNow(file: string, options: { keep?: boolean } = {}): Problem[] {
    const abs = path.resolve(file);
    this.cancel(abs);
    const problems = this.check(abs, options.keep ?? false);
    this.publish();
    this.notifyIfIdle();
    return problems;
  }

  settled(): Promise<void> {
    if (this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** True when a change to `file` matters to some followed config. */
  isFollowed(file: string): boolean {
    if (this.entries.has(file)) return true;
    for (const entry of this.entries.values()) if (entry.files.has(file) || entry.customModules.has(file)) return true;
    return false;
  }

  /** The configs followed now (open ones, and those a command checked). */
  followed(): string[] {
    return [...this.entries.keys()];
  }

  /** Re-check `file` and every followed config that reads it, after `ms` of quiet. */
  schedule(file: string, ms = this.delayMs): void {
    clearTimeout(this.timers.get(file));
    this.timers.set(
      file,
      setTimeout(() => {
        this.timers.delete(file);
        try {
          this.recheckAround(file);
        } finally {
          this.notifyIfIdle();
        }
      }, ms),
    );
  }

  /** A config's editor closed: stop following it (unless a command checked it). */
  forget(file: string): void {
    const entry = this.entries.get(file);
    if (!entry || entry.kept) return;
    this.entries.delete(file);
    this.cancel(file);
    this.publish();
    this.notifyIfIdle();
  }

  // Editor events, as the adapter reports them.

  /** A document's text changed in an editor. */
  changed(file: string, isConfig: boolean): void {
    if (isConfig || this.isFollowed(file)) this.schedule(file);
  }

  /** A document's editor closed: its unsaved text may have been what others were checked against. */
  closed(file: string): void {
    this.forget(file);
    if (this.isFollowed(file)) this.schedule(file, 0);
  }

  /** A file changed on disk; changes of files with unsaved editors arrive as `changed` instead. */
  changedOnDisk(file: string, dirtyInEditor: boolean): void {
    if (!dirtyInEditor && this.isFollowed(file)) this.schedule(file);
  }

  /** A file was created or deleted: it may be a `_base_` someone was missing, or one a config read. */
  createdOrDeleted(file: string): void {
    if (!CONFIG_FILE_PATTERN.test(file) && !this.isFollowed(file)) return;
    for (const [config, entry] of this.entries) if (entry.missing || entry.files.has(file)) this.schedule(config);
  }

  /** Stop every pending check. */
  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private cancel(file: string): void {
    clearTimeout(this.timers.get(file));
    this.timers.delete(file);
  }

  private check(file: string, keep: boolean): Problem[] {
    const texts = this.host.openTexts();
    let problems: Problem[];
    let entry: Entry;
    try {
      this.host.prepare?.();
      const result = checkConfig(file, { readText: (f) => texts.get(f), ...this.host.checkOptions?.() });
      problems = result.problems;
      entry = {
        problems,
        files: new Set([file, ...result.loaded.files]),
        customModules: new Set(customImportFiles(result.loaded).map((m) => m.file)),
        missing: problems.some((p) => p.code === 'file-not-found'),
        kept: keep || (this.entries.get(file)?.kept ?? false),
      };
    } catch (err) {
      // A bug in a validator must not take the editor down with it; the message goes to the output.
      this.host.log?.(`internal error while checking ${file}: ${(err as Error).stack ?? String(err)}`);
      problems = [];
      entry = { problems, files: new Set([file]), customModules: new Set(), missing: false, kept: keep };
    }
    this.entries.set(file, entry);
    return problems;
  }

  /** The problems each file shows: every followed config's, in the file that wrote them, once. */
  problemsByFile(): Map<string, Problem[]> {
    const byFile = new Map<string, Problem[]>();
    const seen = new Set<string>();
    for (const entry of this.entries.values()) {
      for (const p of entry.problems) {
        if (p.file === COMMAND_LINE) continue;
        const key = `${p.file}:${p.range.start.line}:${p.range.start.character}:${p.message}`;
        if (seen.has(key)) continue;
        seen.add(key);
        (byFile.get(p.file) ?? byFile.set(p.file, []).get(p.file)!).push(p);
      }
    }
    return byFile;
  }

  private publish(): void {
    const byFile = this.problemsByFile();
    for (const file of this.published.keys()) {
      if (byFile.has(file)) continue;
      this.host.clear(file);
      this.published.delete(file);
    }
    for (const [file, problems] of byFile) {
      const signature = JSON.stringify(problems.map((p) => [p.range, p.message, p.severity]));
      if (this.published.get(file) === signature) continue;
      this.host.show(file, problems);
      this.published.set(file, signature);
    }
  }

  /** Re-check `file` (when it is a config we follow) and every followed config that reads it. */
  private recheckAround(file: string): void {
    if (this.entries.has(file) || this.host.isOpenConfig(file)) this.check(file, false);
    for (const [config, entry] of this.entries) {
      if (config !== file && (entry.files.has(file) || entry.customModules.has(file))) this.check(config, false);
    }
    this.publish();
  }

  private notifyIfIdle(): void {
    if (this.timers.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
