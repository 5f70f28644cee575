/**
 * The ids of src/extension/ids.ts against package.json: a command registered under an id the
 * manifest does not contribute has no title in the palette, and a contributed id nobody registers
 * fails when clicked. No id is spelled outside ids.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NUMBER_SETTINGS, numberSetting } from '../../src/extension/numberSettings';
import { CATALOG_COMMANDS, COMMANDS, CONTEXT, CONTRIBUTED_COMMANDS, INTERNAL_COMMANDS, PANEL_COMMANDS, RUN_COMMANDS, SETTINGS, SETTINGS_SECTION, SLURM_SETTINGS, VIEWS } from '../../src/extension/ids';

const root = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  contributes: {
    commands: Array<{ command: string }>;
    menus: Record<string, Array<{ command?: string }>>;
    views: Record<string, Array<{ id: string }>>;
    configuration: { properties: Record<string, unknown> };
  };
};
const contributed = manifest.contributes.commands.map((c) => c.command);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('command ids', () => {
  it('are contributed by package.json, every one, and package.json contributes no other', () => {
    expect(new Set(CONTRIBUTED_COMMANDS).size).toBe(CONTRIBUTED_COMMANDS.length);
    expect([...CONTRIBUTED_COMMANDS].sort()).toEqual([...contributed].sort());
    expect(new Set(contributed).size).toBe(contributed.length);
  });

  it('lists each group in CONTRIBUTED_COMMANDS', () => {
    for (const group of [COMMANDS, RUN_COMMANDS, PANEL_COMMANDS, CATALOG_COMMANDS]) for (const id of Object.values(group)) expect(CONTRIBUTED_COMMANDS).toContain(id);
  });

  it('keeps the internal commands out of the manifest (they take arguments only the extension gives)', () => {
    for (const id of Object.values(INTERNAL_COMMANDS)) expect(contributed).not.toContain(id);
  });

  it('names in the menus only contributed commands', () => {
    const inMenus = Object.values(manifest.contributes.menus).flatMap((items) => items.map((i) => i.command).filter((c): c is string => !!c));
    expect(inMenus.length).toBeGreaterThan(10);
    for (const id of inMenus) expect(contributed, `menu item ${id}`).toContain(id);
  });

  it('are spelled only in ids.ts (as string literals; comments may name them)', () => {
    const known = new Set([...contributed, ...Object.values(INTERNAL_COMMANDS)]);
    const strays: string[] = [];
    for (const file of sourceFiles(path.join(root, 'src/extension'))) {
      if (file.endsWith(path.join('extension', 'ids.ts'))) continue;
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/['"](cvWorkbench\.[A-Za-z.]+)['"]/g)) if (known.has(m[1])) strays.push(`${path.relative(root, file)}: ${m[1]}`);
    }
    expect(strays).toEqual([]);
  });
});

describe('views and settings', () => {
  it('are contributed by package.json', () => {
    const views = Object.values(manifest.contributes.views).flatMap((list) => list.map((v) => v.id));
    expect([...Object.values(VIEWS)].sort()).toEqual([...views].sort());
    const settings = Object.keys(manifest.contributes.configuration.properties);
    expect([...Object.values(SETTINGS), ...Object.values(SLURM_SETTINGS)].map((k) => `${SETTINGS_SECTION}.${k}`).sort()).toEqual([...settings].sort());
  });

  it('numeric settings are read within the bounds package.json declares, whatever settings.json holds', () => {
    const declared = Object.entries(manifest.contributes.configuration.properties as Record<string, { type: string; default: number; minimum?: number; maximum?: number }>)
      .filter(([, p]) => p.type === 'number' || p.type === 'integer')
      .map(([k, p]) => [k.slice(SETTINGS_SECTION.length + 1), { default: p.default, minimum: p.minimum, maximum: p.maximum, integer: p.type === 'integer' }]);
    expect(Object.fromEntries(declared)).toEqual(NUMBER_SETTINGS);
    expect(numberSetting('slurm.pollSeconds', 1e7)).toBe(3600);
    expect(numberSetting('slurm.pollSeconds', 'x')).toBe(5);
    expect(numberSetting('slurm.pollSeconds', NaN)).toBe(5);
    expect(numberSetting('slurm.pollSeconds', 0.001)).toBe(1);
    expect(numberSetting('runs.queueParallel', Infinity)).toBe(1);
    expect(numberSetting('runs.queueParallel', 2.7)).toBe(2);
    expect(numberSetting('slurm.gpusPerTask', -3)).toBe(0);
    expect(numberSetting('runs.stopGraceSeconds', 2.5)).toBe(2.5);
  });
});

/**
 * The part of VS Code's when-clause language the explorer's entries use: `||` over `&&` over
 * `key`, `!key`, `key in listKey` and `key =~ /regex/` (no parentheses).
 */
function evalWhen(when: string, context: Record<string, unknown>): boolean {
  const term = (t: string): boolean => {
    const match = /^(\S+) =~ \/(.*)\/([a-z]*)$/.exec(t);
    if (match) return new RegExp(match[2], match[3]).test(String(context[match[1]] ?? ''));
    const inList = /^(\S+) in (\S+)$/.exec(t);
    if (inList) return ((context[inList[2]] as unknown[] | undefined) ?? []).includes(context[inList[1]]);
    if (t.startsWith('!')) return !context[t.slice(1)];
    if (/^[\w.]+$/.test(t)) return !!context[t];
    throw new Error(`evalWhen: cannot read "${t}"`);
  };
  return when.split(' || ').some((all) => all.split(' && ').every((t) => term(t.trim())));
}

describe("the explorer's Train and Debug entries", () => {
  const menus = manifest.contributes.menus['explorer/context'] as Array<{ command: string; when: string }>;
  const shown = (command: string, file: string, keys: Record<string, unknown>) =>
    evalWhen(menus.find((m) => m.command === command)!.when, { resourcePath: file, resourceExtname: path.extname(file), ...keys });

  it('show on every YAML/JSON file outside _base_ until a scan has listed the configs (before the extension is active)', () => {
    for (const command of ['cvWorkbench.train', 'cvWorkbench.debugTraining']) {
      expect(shown(command, '/w/configs/a.yaml', {})).toBe(true);
      expect(shown(command, '/w/lab/b.json', {})).toBe(true);
      expect(shown(command, '/w/configs/_base_/a.yaml', {})).toBe(false);
      expect(shown(command, '/w/node_modules/x/a.yaml', {})).toBe(false);
      expect(shown(command, '/w/notes.txt', {})).toBe(false);
      // The scan stopped at its bound: the same.
      expect(shown(command, '/w/lab/b.json', { [CONTEXT.configIndexComplete]: false, [CONTEXT.trainableConfigs]: [] })).toBe(true);
    }
  });

  it('show on the listed configs only once a scan listed them all; Submit to Slurm also needs sbatch', () => {
    const listed = { [CONTEXT.configIndexComplete]: true, [CONTEXT.trainableConfigs]: ['/w/configs/a.yaml'] };
    for (const command of ['cvWorkbench.train', 'cvWorkbench.debugTraining']) {
      expect(shown(command, '/w/configs/a.yaml', listed)).toBe(true);
      expect(shown(command, '/w/lab/b.json', listed)).toBe(false);
    }
    expect(shown('cvWorkbench.submitToSlurm', '/w/configs/a.yaml', listed)).toBe(false);
    expect(shown('cvWorkbench.submitToSlurm', '/w/configs/a.yaml', { ...listed, [CONTEXT.slurmAvailable]: true })).toBe(true);
    expect(shown('cvWorkbench.submitToSlurm', '/w/lab/b.json', { ...listed, [CONTEXT.slurmAvailable]: true })).toBe(false);
  });
});
