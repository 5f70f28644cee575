/**
 * The run commands' table: each id of RUN_COMMANDS (and the status bar's internal one) with the
 * arguments VS Code or a caller passes, checked, handed to the functions of commands.ts.
 */
import * as vscode from 'vscode';
import { INTERNAL_COMMANDS, RUN_COMMANDS } from '../ids';
import * as commands from './commands';
import type { RunsTreeProvider } from './runsView';

function startOptions(options: unknown): commands.StartOptions {
  return options && typeof options === 'object' && !Array.isArray(options) ? (options as commands.StartOptions) : {};
}

const text = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

export function registerRunCommands(ctx: commands.RunCommandContext, tree: RunsTreeProvider): vscode.Disposable[] {
  const table: Record<string, (...args: any[]) => unknown> = {
    [RUN_COMMANDS.train]: (arg?: unknown, options?: unknown) => commands.train(ctx, arg, startOptions(options)),
    [RUN_COMMANDS.debugTraining]: (arg?: unknown, options?: unknown) => commands.debugTraining(ctx, arg, startOptions(options)),
    [RUN_COMMANDS.evaluate]: (arg?: unknown) => commands.evaluate(ctx, arg),
    [RUN_COMMANDS.export]: (arg?: unknown, format?: unknown) => commands.exportRun(ctx, arg, text(format)),
    [RUN_COMMANDS.benchmark]: (arg?: unknown, kind?: unknown) => commands.benchmark(ctx, arg, text(kind)),
    [RUN_COMMANDS.browseViews]: (arg?: unknown) => commands.browseViews(ctx, arg),
    [RUN_COMMANDS.modelSummary]: (arg?: unknown) => commands.modelSummary(ctx, arg),
    [RUN_COMMANDS.stopRun]: (arg?: unknown, selected?: unknown) => commands.stop(ctx, arg, selected),
    [RUN_COMMANDS.resumeRun]: (arg?: unknown, options?: unknown) => commands.resume(ctx, arg, startOptions(options)),
    [RUN_COMMANDS.openRunLog]: (arg?: unknown) => commands.openLog(ctx, arg),
    [RUN_COMMANDS.openRunOutput]: (arg?: unknown) => commands.openOutput(ctx, arg),
    [RUN_COMMANDS.openRunFolder]: (arg?: unknown) => commands.openFolder(ctx, arg),
    [RUN_COMMANDS.openRunConfig]: (arg?: unknown) => commands.openConfig(ctx, arg),
    [RUN_COMMANDS.deleteRun]: (arg?: unknown, selected?: unknown, confirmed?: unknown) => commands.deleteRuns(ctx, arg, selected, confirmed === true),
    [RUN_COMMANDS.refreshRuns]: () => {
      for (const r of ctx.service.runs()) ctx.service.refresh(r.dir);
      tree.refresh();
    },
    [INTERNAL_COMMANDS.showActiveRun]: (arg?: unknown) => commands.showActiveRun(ctx, arg),
  };
  return Object.entries(table).map(([id, fn]) => vscode.commands.registerCommand(id, fn));
}
