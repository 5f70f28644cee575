/**
 * The config diagnostics without VS Code: the real validator, real files, an editor stood in for
 * by a map of open buffers and a record of what each file shows.
 */
import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import '../../src/builtins';
import type { Problem } from '../../src/core/problems';
import { DiagnosticsEngine, type DiagnosticsHost } from '../../src/extension/language/diagnosticsCore';
import { tempFiles } from '../helpers/tmp';

const BASE = ['model:', '  type: Classification', '  backbone:', '    type: ResNte', '    depth: 18', '  head:', '    type: ClsHead', '    num_classes: 10', ''].join('\n');
const CHILD = ['_base_: base.yaml', 'model:', '  head:', '    dropuot: 0.5', ''].join('\n');
const SIBLING = ['_base_: base.yaml', 'seed: 3', ''].join('\n');

/** An editor: open buffers (unsaved text), the problems each file shows, and how many checks ran. */
class Editor implements DiagnosticsHost {
  readonly buffers = new Map<string, string>();
  readonly shown = new Map<string, readonly Problem[]>();
  /** Files in the order `show` or `clear` touched them. */
  readonly touched: string[] = [];
  readonly logged: string[] = [];
  checks = 0;

  openTexts = () => this.buffers;
  isOpenConfig = (file: string) => this.buffers.has(file) && file.endsWith('.yaml');
  show = (file: string, problems: readonly Problem[]) => {
    this.shown.set(file, problems);
    this.touched.push(file);
  };
  clear = (file: string) => {
    this.shown.delete(file);
    this.touched.push(file);
  };
  prepare = () => {
    this.checks++;
  };
  log = (line: string) => void this.logged.push(line);

  /** [code, start line:col, end line:col] of what a file shows, 0-based as the editor's ranges. */
  at(file: string): Array<[string | undefined, string, string]> {
    return (this.shown.get(file) ?? []).map((p) => [p.code, `${p.range.start.line}:${p.range.start.character}`, `${p.range.end.line}:${p.range.end.character}`]);
  }
}

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function setup(files: Record<string, string>, delayMs = 10) {
  const t = tempFiles(files);
  const editor = new Editor();
  const engine = new DiagnosticsEngine(editor, delayMs);
  cleanup = () => {
    engine.dispose();
    t.cleanup();
  };
  return { t, editor, engine };
}

describe('DiagnosticsEngine', () => {
  it('shows each problem in the file that wrote it, at its exact range', () => {
    const { t, editor, engine } = setup({ 'base.yaml': BASE, 'child.yaml': CHILD });
    const problems = engine.checkNow(t.file('child.yaml'));
    expect(problems.map((p) => p.code).sort()).toEqual(['unknown-key', 'unknown-type']);
    // `ResNte` on line 4, columns 11-16 (1-based) of base.yaml; `dropuot` on line 4, columns 5-11 of child.yaml.
    expect(editor.at(t.file('base.yaml'))).toEqual([['unknown-type', '3:10', '3:16']]);
    expect(editor.at(t.file('child.yaml'))).toEqual([['unknown-key', '3:4', '3:11']]);
    expect(editor.shown.get(t.file('base.yaml'))![0].message).toBe('unknown backbone "ResNte" — did you mean "ResNet"?');
  });

  it('checks against unsaved buffers, and re-checks the configs that read a base when the base is edited', async () => {
    const { t, editor, engine } = setup({ 'base.yaml': BASE, 'child.yaml': CHILD });
    editor.buffers.set(t.file('child.yaml'), CHILD);
    engine.schedule(t.file('child.yaml'), 0);
    await engine.settled();
    expect(editor.at(t.file('base.yaml'))).toHaveLength(1);
    expect(engine.isFollowed(t.file('base.yaml'))).toBe(true);

    // The base is opened and its typo fixed, unsaved: the child is checked again with that text.
    editor.buffers.set(t.file('base.yaml'), BASE.replace('ResNte', 'ResNet'));
    editor.touched.length = 0;
    engine.changed(t.file('base.yaml'), true);
    await engine.settled();
    expect(editor.shown.has(t.file('base.yaml'))).toBe(false);
    // The child's problem did not change: it is not shown again.
    expect(editor.touched).toEqual([t.file('base.yaml')]);
    expect(editor.at(t.file('child.yaml'))).toEqual([['unknown-key', '3:4', '3:11']]);
  });

  it('shows a problem of a shared base once, however many open configs read it', () => {
    const { t, editor, engine } = setup({ 'base.yaml': BASE, 'child.yaml': CHILD, 'sibling.yaml': SIBLING });
    engine.checkNow(t.file('child.yaml'));
    engine.checkNow(t.file('sibling.yaml'));
    expect(editor.at(t.file('base.yaml'))).toEqual([['unknown-type', '3:10', '3:16']]);
    expect(editor.at(t.file('sibling.yaml'))).toEqual([]);
  });

  it('waits for a pause in typing: changes in quick succession are checked once', async () => {
    const { t, editor, engine } = setup({ 'base.yaml': BASE, 'child.yaml': CHILD }, 50);
    editor.buffers.set(t.file('child.yaml'), CHILD);
    for (let i = 0; i < 5; i++) engine.changed(t.file('child.yaml'), true);
    expect(editor.checks).toBe(0);
    await engine.settled();
    expect(editor.checks).toBe(1);
  });

  it('stops showing a closed config, but keeps one a command validated', () => {
    const { t, editor, engine } = setup({ 'base.yaml': BASE, 'child.yaml': CHILD, 'sibling.yaml': SIBLING });
    engine.checkNow(t.file('child.yaml'));
    engine.checkNow(t.file('sibling.yaml'), { keep: true });
    engine.closed(t.file('child.yaml'));
    expect(editor.shown.has(t.file('child.yaml'))).toBe(false);
    // The sibling still reads the base: its problem stays.
    expect(editor.at(t.file('base.yaml'))).toHaveLength(1);
    engine.closed(t.file('sibling.yaml'));
    expect(editor.at(t.file('base.yaml'))).toHaveLength(1);
    expect(engine.followed()).toEqual([t.file('sibling.yaml')]);
  });

  it('checks a config again when the base it could not find is created on disk', async () => {
    const { t, editor, engine } = setup({ 'child.yaml': CHILD });
    engine.checkNow(t.file('child.yaml'));
    // The missing base (its path, `base.yaml`), and the model it would have typed.
    expect(editor.at(t.file('child.yaml'))).toEqual([
      ['file-not-found', '0:8', '0:17'],
      ['missing-type', '1:0', '1:5'],
    ]);
    fs.writeFileSync(t.file('base.yaml'), BASE);
    engine.createdOrDeleted(t.file('base.yaml'));
    await engine.settled();
    expect(editor.at(t.file('child.yaml'))).toEqual([['unknown-key', '3:4', '3:11']]);
    expect(editor.at(t.file('base.yaml'))).toEqual([['unknown-type', '3:10', '3:16']]);
  });

  it('ignores a change on disk to a file an unsaved editor holds, and files nobody reads', async () => {
    const { t, editor, engine } = setup({ 'base.yaml': BASE, 'child.yaml': CHILD, 'other.yaml': SIBLING });
    engine.checkNow(t.file('child.yaml'));
    const checks = editor.checks;
    engine.changedOnDisk(t.file('base.yaml'), true);
    engine.changedOnDisk(t.file('other.yaml'), false);
    await engine.settled();
    expect(editor.checks).toBe(checks);
    engine.changedOnDisk(t.file('base.yaml'), false);
    await engine.settled();
    expect(editor.checks).toBe(checks + 1);
  });

  it('writes a failure of the checker to the log and shows nothing for that config', () => {
    const { t, editor, engine } = setup({ 'base.yaml': BASE, 'child.yaml': CHILD });
    editor.prepare = () => {
      throw new Error('registry broken');
    };
    expect(engine.checkNow(t.file('child.yaml'))).toEqual([]);
    expect(editor.logged[0]).toMatch(new RegExp(`^internal error while checking ${t.file('child.yaml').replace(/[\\/.]/g, '\\$&')}: Error: registry broken`));
    expect(editor.shown.size).toBe(0);
  });
});
