/** Configs that are not files, too large, nested too deeply, too wide, or hold huge values: located errors, no crash. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/builtins';
import { checkConfig } from '../../src/core/check';
import { nestingBeyond } from '../../src/core/config/nesting';
import { scanYaml } from '../../src/core/language/yamlScan';
import { formatProblem, UserError } from '../../src/core/problems';
import { closestNames } from '../../src/core/suggest';
import { readRunRecord } from '../../src/rundir';
import { tempFiles, lc } from '../helpers/tmp';

const t = tempFiles({ 'ok.yaml': 'seed: 1\n' });
afterAll(() => t.cleanup());

function problemsOf(text: string, name = 'c.yaml') {
  fs.writeFileSync(t.file(name), text);
  return checkConfig(t.file(name)).problems;
}

describe('config files are regular files under a size limit', () => {
  it('_base_: /dev/zero is refused at the _base_ key, without reading it', () => {
    const start = process.memoryUsage().rss;
    const problems = problemsOf('seed: 1\n_base_: /dev/zero\n');
    expect(problems.map((p) => `${lc(p)} ${p.code} ${p.message}`)).toEqual(['2:9 file-unreadable _base_ file /dev/zero is a character device; expected a regular file']);
    expect(process.memoryUsage().rss - start).toBeLessThan(64 << 20);
  });

  it('a FIFO as a _base_ or as the config itself does not block', () => {
    const fifo = t.file('pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    const viaBase = problemsOf('_base_: pipe.yaml\n');
    expect(viaBase[0].message).toBe(`_base_ file ${fifo} is a FIFO (named pipe); expected a regular file`);
    expect(checkConfig(fifo).problems.map((p) => p.message)).toEqual([`config file ${fifo} is a FIFO (named pipe); expected a regular file`]);
    expect(checkConfig(t.dir).problems.map((p) => p.message)).toEqual([`config file ${t.dir} is a folder; expected a regular file`]);
  });

  it('a file over the limit is refused with the limit and how to raise it; the variable raises it', () => {
    const big = `seed: 1\n${'#'.repeat(2000)}\n`;
    const before = process.env.CVW_MAX_CONFIG_BYTES;
    try {
      process.env.CVW_MAX_CONFIG_BYTES = '1024';
      expect(problemsOf(big).map((p) => p.message)).toEqual([`config file ${t.file('c.yaml')} is larger than the limit of 1 KiB (set CVW_MAX_CONFIG_BYTES to a number of bytes to raise it)`]);
      process.env.CVW_MAX_CONFIG_BYTES = '4096';
      expect(problemsOf(big)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.CVW_MAX_CONFIG_BYTES;
      else process.env.CVW_MAX_CONFIG_BYTES = before;
    }
  });
});

describe('nesting', () => {
  const deepBlock = (n: number) => Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ' 1\n';
  const deepSeq = (n: number) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}- `).join('\n') + '1\n';

  it('4,000 levels (block mappings, block lists, flow lists, JSON) are one located error, no RangeError', () => {
    const cases: Array<[string, string]> = [
      ['block', deepBlock(4000)],
      ['seq', `a:\n${deepSeq(4000)}`],
      ['flow', `a: ${'['.repeat(4000)}${']'.repeat(4000)}\n`],
      ['json', `${'{"a":'.repeat(4000)}1${'}'.repeat(4000)}`],
      ['dashes', `a:\n  ${'- '.repeat(4000)}1\n`],
    ];
    for (const [name, text] of cases) {
      const problems = problemsOf(text, `${name}.yaml`);
      expect(problems.length, name).toBe(1);
      expect(problems[0].code, name).toBe('too-large');
      expect(formatProblem(problems[0], t.dir), name).toMatch(new RegExp(`^${name}\\.yaml:\\d+:\\d+: error: nested more than 100 levels deep`));
    }
  });

  it('the estimate never falls below the real depth, and real configs are far from the limit', () => {
    // Exactly n levels of mappings: refused above the limit's half (a block level counts twice), accepted below.
    expect(nestingBeyond(deepBlock(49))).toBeUndefined();
    expect(nestingBeyond(deepBlock(60))).toBeDefined();
    expect(nestingBeyond(`a: ${'['.repeat(101)}${']'.repeat(101)}`)).toBeDefined();
    // Quotes cannot hide brackets: "]" inside a string closes nothing outside it.
    expect(nestingBeyond(`a: "${']'.repeat(200)}" ${'['.repeat(101)}`)).toBeDefined();
    // A quote the parser reads as a plain character still counts what follows it.
    expect(nestingBeyond(`a: x "${'['.repeat(101)}`)).toBeDefined();
    // Balanced brackets in strings, and any in comments, add nothing (they once added up to a false refusal).
    expect(nestingBeyond(`files:\n${'  - "src/a[1].ts"\n'.repeat(150)}`)).toBeUndefined();
    expect(nestingBeyond(`seed: 1\n${'#  - { type: RandomHorizontalFlip, p: [0.5] }\n'.repeat(150)}${'# option [1\n'.repeat(150)}`)).toBeUndefined();
    for (const f of fs.readdirSync('configs', { recursive: true }) as string[]) {
      if (f.endsWith('.yaml')) expect(nestingBeyond(fs.readFileSync(`configs/${f}`, 'utf8'), 40), f).toBeUndefined();
    }
  });

  it("the editor's scanner stops reading at its depth instead of overflowing", () => {
    const root = scanYaml(`a: ${'['.repeat(5000)}`);
    expect(root.kind).toBe('map');
    expect(() => scanYaml(deepBlock(5000))).not.toThrow();
    expect(() => scanYaml(`a:\n${deepSeq(5000)}`)).not.toThrow();
  });
});

describe('wide and huge values', () => {
  it('20,000 unknown keys: the first 1,000 are listed, the rest counted in one more problem', () => {
    const n = 20_000;
    const text = Array.from({ length: n }, (_, i) => `k${i}: 1`).join('\n');
    const problems = problemsOf(text, 'wide.yaml');
    expect(problems.length).toBe(1001);
    expect(problems.slice(0, 1000).every((p, i) => p.message.startsWith(`unknown top-level key "k${i}"`) && p.range.start.line === i)).toBe(true);
    expect(`${lc(problems[1000])} ${problems[1000].message}`).toBe('1000:1 19,000 more problems after these 1,000 are not listed');
  });

  it('a 5 MB value is echoed as 80 characters and an ellipsis', () => {
    const problems = problemsOf(`model:\n  type: "${'x'.repeat(5_000_000)}"\n`, 'huge.yaml');
    expect(problems.length).toBe(1);
    const line = formatProblem(problems[0], t.dir);
    expect(line).toMatch(/^huge\.yaml:2:9: error: unknown model "x{79}… \(4,999,922 more characters\)/);
    expect(line.length).toBeLessThan(400);
  });

  it('"did you mean" skips names that the length alone rules out (no table of a 5 MB word)', () => {
    expect(closestNames('R'.repeat(5_000_000), ['ResNet', 'Rrrrr'])).toEqual([]);
    expect(closestNames('Res', ['ResNet', 'SwinTransformer'])).toEqual(['ResNet']);
  });

  it('every user error is clipped to lines of at most 1,000 characters', () => {
    const e = new UserError(`first\n${'y'.repeat(10_000)}`);
    expect(e.message.split('\n')[1]).toMatch(/^y{1000}… \(9,000 more characters\)$/);
  });
});

describe('run files', () => {
  it('a run.json that is a FIFO or a device is no run, read without blocking', () => {
    fs.mkdirSync(t.file('runs/a'), { recursive: true });
    execFileSync('mkfifo', [t.file('runs/a/run.json')]);
    expect(readRunRecord(t.file('runs/a'))).toBeUndefined();
    fs.mkdirSync(t.file('runs/b'), { recursive: true });
    fs.symlinkSync('/dev/zero', t.file('runs/b/run.json'));
    expect(readRunRecord(t.file('runs/b'))).toBeUndefined();
    fs.mkdirSync(t.file('runs/c'), { recursive: true });
    fs.writeFileSync(t.file('runs/c/run.json'), JSON.stringify({ status: 'finished', config_stem: 7, started: 'x' }));
    expect(readRunRecord(t.file('runs/c'))).toMatchObject({ state: 'finished', group: 'runs' });
  });
});
