import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFileOf, runDirOf, runDirsOf } from '../../src/extension/commandArgs';

/** The shape of a vscode.Uri the parser reads (fsPath is a getter on the real class). */
class FakeUri {
  constructor(
    readonly scheme: string,
    private readonly file: string,
  ) {}
  get fsPath(): string {
    return this.file;
  }
}

const A = path.resolve('/work_dirs/cfg/run-a');
const B = path.resolve('/work_dirs/cfg/run-b');
const C = path.resolve('/work_dirs/cfg/run-c');

describe('runDirOf', () => {
  it('reads a path, a Uri, a view node or run record, a wrapped record, a tree item', () => {
    expect(runDirOf(A)).toBe(A);
    expect(runDirOf(new FakeUri('file', A))).toBe(A);
    expect(runDirOf({ kind: 'run', dir: A })).toBe(A);
    expect(runDirOf({ run: { dir: A, state: 'finished' } })).toBe(A);
    expect(runDirOf({ label: 'x', resourceUri: new FakeUri('file', A) })).toBe(A);
  });

  it('makes a relative path absolute (against the working directory) and normalises it', () => {
    expect(runDirOf('work_dirs/cfg/run-a')).toBe(path.join(process.cwd(), 'work_dirs', 'cfg', 'run-a'));
    expect(runDirOf({ dir: `${A}/../run-a/` })).toBe(A);
  });

  it('finds no run in a group node, an empty string, an array, or nothing', () => {
    expect(runDirOf({ kind: 'group', group: 'cfg' })).toBeUndefined();
    expect(runDirOf('')).toBeUndefined();
    expect(runDirOf([A])).toBeUndefined();
    expect(runDirOf(undefined)).toBeUndefined();
    expect(runDirOf(42)).toBeUndefined();
  });
});

describe('runDirsOf', () => {
  const node = (dir: string) => ({ kind: 'run', dir });

  it('takes the selection when the clicked node is part of it', () => {
    expect(runDirsOf(node(B), [node(A), node(B), node(C)])).toEqual([A, B, C]);
  });

  it('takes the clicked node alone when it is outside the selection (as the explorer does)', () => {
    expect(runDirsOf(node(C), [node(A), node(B)])).toEqual([C]);
  });

  it('takes the selection when nothing was clicked, and one node without a selection', () => {
    expect(runDirsOf(undefined, [node(A), node(B)])).toEqual([A, B]);
    expect(runDirsOf(node(A), undefined)).toEqual([A]);
    expect(runDirsOf(A)).toEqual([A]);
  });

  it('takes an array given first (a caller in code), without duplicates or non-runs', () => {
    expect(runDirsOf([A, B, A, { kind: 'group', group: 'cfg' }, new FakeUri('file', C)])).toEqual([A, B, C]);
  });

  it('finds nothing in nothing', () => {
    expect(runDirsOf(undefined, undefined)).toEqual([]);
    expect(runDirsOf({ kind: 'group', group: 'cfg' }, [])).toEqual([]);
  });
});

describe('configFileOf', () => {
  it('accepts a file Uri of a YAML or JSON file', () => {
    const yaml = path.resolve('/ws/configs/a.yaml');
    expect(configFileOf(new FakeUri('file', yaml))).toBe(yaml);
    expect(configFileOf(new FakeUri('file', path.resolve('/ws/configs/a.JSON')))).toBe(path.resolve('/ws/configs/a.JSON'));
  });

  it('refuses other files, other schemes and paths given as strings', () => {
    expect(configFileOf(new FakeUri('file', path.resolve('/ws/train.ts')))).toBeUndefined();
    expect(configFileOf(new FakeUri('untitled', '/Untitled-1.yaml'))).toBeUndefined();
    expect(configFileOf('/ws/configs/a.yaml')).toBeUndefined();
    expect(configFileOf({ dir: '/ws/configs/a.yaml' })).toBeUndefined();
  });
});
