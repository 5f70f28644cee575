// Every number option of every command declares its bounds, and parseArgs refuses a value outside
// them (or a word outside a choice option's) with one message, before the command runs.
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands';
import { commandHelp, inRange, parseArgs, rangeText, UsageError, type CommandSpec, type NumberRange, type OptionSpec } from '../../src/cli/args';
import { cvw } from '../helpers/cvw';

/** Enough positionals for the command to parse. */
const positionalsOf = (spec: CommandSpec) => (spec.positionals ?? []).filter((p) => !p.optional).map(() => 'x');

/** Values just outside a range, each with why. */
function outside(r: NumberRange): string[] {
  const bad: string[] = [];
  if (r.min !== undefined) bad.push(String(r.min - 1));
  if (r.above !== undefined) bad.push(String(r.above));
  if (r.max !== undefined) bad.push(String(r.max + 1));
  if (r.integer) bad.push(String((r.min ?? 0) + 1.5));
  return bad;
}

const numberOptions = COMMANDS.flatMap((spec) => (spec.options ?? []).filter((o) => o.type === 'number').map((o) => [spec, o] as [CommandSpec, OptionSpec]));

describe('bounds of the command-line options', () => {
  it('are declared for every number option, and hold its default', () => {
    expect(numberOptions.length).toBeGreaterThan(40);
    for (const [spec, o] of numberOptions) {
      expect(o.range, `cvw ${spec.name} --${o.name}`).toBeDefined();
      if (o.default !== undefined) expect(inRange(Number(o.default), o.range!), `cvw ${spec.name} --${o.name} ${o.default}`).toBe(true);
    }
  });

  it('refuse a value outside them as the line is parsed, naming the option and what it takes', () => {
    for (const [spec, o] of numberOptions) {
      const ok = String(o.default ?? o.range!.min ?? (o.range!.above ?? 0) + 1);
      expect(parseArgs(spec, [...positionalsOf(spec), `--${o.name}`, ok]).options[o.name]).toBe(Number(ok));
      for (const value of outside(o.range!)) {
        const parse = () => parseArgs(spec, [...positionalsOf(spec), `--${o.name}`, value]);
        expect(parse, `cvw ${spec.name} --${o.name} ${value}`).toThrow(UsageError);
        expect(parse).toThrow(`--${o.name} must be ${rangeText(o.range!)}, got ${value}`);
      }
      // Not a number at all, or nothing: "expects a number", whatever the range.
      for (const value of ['ten', '', 'Infinity']) expect(() => parseArgs(spec, [...positionalsOf(spec), `--${o.name}=${value}`])).toThrow(`--${o.name} expects a number, got "${value}"`);
    }
  });

  it('say what a range takes in words', () => {
    expect(rangeText({ integer: true, min: 1 })).toBe('a positive integer');
    expect(rangeText({ integer: true, min: 0 })).toBe('a whole number >= 0');
    expect(rangeText({ integer: true, min: 1, max: 256 })).toBe('a whole number from 1 to 256');
    expect(rangeText({ min: 0, max: 1 })).toBe('between 0 and 1');
    expect(rangeText({ above: 0 })).toBe('a positive number');
    expect(rangeText({ min: 0 })).toBe('a number >= 0');
    expect(rangeText({ max: 3 })).toBe('a number <= 3');
    expect(inRange(0.5, { integer: true, min: 0 })).toBe(false);
    expect(inRange(0, { above: 0 })).toBe(false);
    expect(inRange(Number.NaN, {})).toBe(false);
  });

  it('refuse a word outside a choice option', () => {
    const choices = COMMANDS.flatMap((spec) => (spec.options ?? []).filter((o) => o.choices).map((o) => [spec, o] as [CommandSpec, OptionSpec]));
    expect(choices.map(([s, o]) => `${s.name} --${o.name}`)).toEqual(expect.arrayContaining(['train --backend', 'train --device', 'export --format', 'predict --device', 'weights export --format']));
    for (const [spec, o] of choices) {
      for (const word of o.choices!) expect(parseArgs(spec, [...positionalsOf(spec), `--${o.name}`, word]).options[o.name]).toBe(word);
      expect(() => parseArgs(spec, [...positionalsOf(spec), `--${o.name}`, 'tpu'])).toThrow(`--${o.name} must be one of ${o.choices!.join(', ')}, got "tpu"`);
    }
  });

  it('show in the help: the words a choice takes, an upper bound', () => {
    const help = (name: string) => commandHelp(COMMANDS.find((c) => c.name === name)!).split('\n');
    expect(help('queue run')).toContainEqual(expect.stringMatching(/^ {2}-p, --parallel <n> +Trainings at a time \(default: 1; a whole number from 1 to 64\)$/));
    expect(help('train')).toContainEqual(expect.stringMatching(/^ {2}--backend <auto\|tensorflow\|webgpu\|wasm-ort\|wasm\|cpu> Engine backend \(overrides engine.backend\)$/));
    expect(help('train')).toContainEqual(expect.stringMatching(/^ {2}--max-iters <n> +Stop after this many iterations, whatever the config says \(smoke runs\)$/));
  });

  it('through cvw: exit status 2, the message and the pointer to --help, nothing run', async () => {
    const r = await cvw('train', 'configs/does-not-exist.yaml', '--max-iters', '0');
    expect(r).toMatchObject({ code: 2, out: '' });
    expect(r.err).toContain('cvw train: --max-iters must be a positive integer, got 0');
    expect(r.err).toContain('Run `cvw train --help` for usage.');
    expect(await cvw('queue', 'run', '--parallel', '65')).toMatchObject({ code: 2, err: expect.stringContaining('--parallel must be a whole number from 1 to 64, got 65') });
  });
});
