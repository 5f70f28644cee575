/**
 * Argument parsing for `cvw`: declared options per command, plus dotted-key config overrides
 * (`--model.head.num_classes 10`, `--data.train.batch_size=256`) for commands that take a config.
 */
import type { Override } from '../core/config/overrides';
import { sectionNames } from '../core/rootSchema';
import { closestNames, didYouMean } from '../core/suggest';

export type OptionType = 'string' | 'number' | 'boolean' | 'list';

export interface OptionSpec {
  name: string;
  short?: string;
  type: OptionType;
  description: string;
  /** Shown in help as `--name <value>`. */
  valueName?: string;
  default?: string | number | boolean;
  /** Numbers: the values accepted, checked as the command line is parsed (one message for all). */
  range?: NumberRange;
  /** Strings: the values accepted. */
  choices?: readonly string[];
}

/** Bounds of a number option; `above` is an exclusive lower bound (a learning rate, a temperature). */
export interface NumberRange {
  integer?: boolean;
  min?: number;
  above?: number;
  max?: number;
}

/** What a range accepts, as the end of "--x must be ...". */
export function rangeText(r: NumberRange): string {
  const kind = r.integer ? 'whole number' : 'number';
  if (r.integer && r.min === 1 && r.max === undefined) return 'a positive integer';
  if (r.above === 0 && r.max === undefined) return `a positive ${kind}`;
  if (r.min !== undefined && r.max !== undefined) return r.integer ? `a whole number from ${r.min} to ${r.max}` : `between ${r.min} and ${r.max}`;
  const low = r.min !== undefined ? ` >= ${r.min}` : r.above !== undefined ? ` > ${r.above}` : '';
  return `a ${kind}${low}${r.max !== undefined ? `${low ? ' and' : ''} <= ${r.max}` : ''}`;
}

export function inRange(n: number, r: NumberRange): boolean {
  return (
    Number.isFinite(n) &&
    (!r.integer || Number.isInteger(n)) &&
    (r.min === undefined || n >= r.min) &&
    (r.above === undefined || n > r.above) &&
    (r.max === undefined || n <= r.max)
  );
}

/**
 * `--no-custom-imports`, for the commands that read a config without training it (validate,
 * config print, data inspect, data pack): run none of the config's code, e.g. on a config from an
 * untrusted pull request. Its custom components are then reported as information, not errors.
 */
export const CUSTOM_IMPORTS_OPTION: OptionSpec = {
  name: 'custom-imports',
  type: 'boolean',
  description: 'Load the modules of custom_imports (--no-custom-imports: run no code of the config, e.g. one from an untrusted pull request; its custom components are then unknown)',
};

/** Whether a command given CUSTOM_IMPORTS_OPTION may run the config's custom_imports. */
export function customImportsAllowed(args: ParsedArgs): boolean {
  return args.options['custom-imports'] !== false;
}

export interface PositionalSpec {
  name: string;
  description: string;
  optional?: boolean;
  variadic?: boolean;
}

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | number | boolean | string[] | undefined>;
  overrides: Override[];
}

export interface CommandSpec {
  /** One word or two (`config print`, `data pack`). */
  name: string;
  summary: string;
  /** Extra help text after the options. */
  details?: string;
  positionals?: PositionalSpec[];
  options?: OptionSpec[];
  /** Accept `--a.b value` config overrides. */
  overrides?: boolean;
  run(args: ParsedArgs): Promise<number> | number;
}

/** A number option's value (parseArgs checked it against its range); undefined when not given and without a default. */
export function numberOption(args: ParsedArgs, name: string): number | undefined {
  return args.options[name] as number | undefined;
}

/** A usage error: printed with a pointer to `--help`, exit status 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const HELP: OptionSpec = { name: 'help', short: 'h', type: 'boolean', description: 'Show this help' };

export function parseArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const options = [...(spec.options ?? []), HELP];
  const byName = new Map(options.map((o) => [o.name, o]));
  const byShort = new Map(options.filter((o) => o.short).map((o) => [o.short!, o]));
  const out: ParsedArgs = { positionals: [], options: {}, overrides: [] };
  for (const o of options) if (o.default !== undefined) out.options[o.name] = o.default;
  const sections = new Set(sectionNames());

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    const long = arg.startsWith('--');
    const body = long ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    let opt = long ? byName.get(name) : byShort.get(name);
    let negated = false;
    if (!opt && long && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean') {
      opt = byName.get(name.slice(3));
      negated = true;
    }
    if (!opt) {
      const camel = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      if (long && spec.overrides && (name.includes('.') || sections.has(name) || sections.has(camel))) {
        const value = inline ?? argv[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value (a config override: --${name} <value>)`, spec.name);
        out.overrides.push({ key: name, value, arg: inline !== undefined ? arg : `${arg} ${value}` });
        continue;
      }
      const near = closestNames(name, options.map((o) => o.name));
      throw new UsageError(`unknown option ${long ? '--' : '-'}${name} for "cvw ${spec.name}"${didYouMean(near.map((n) => '--' + n))}`, spec.name);
    }
    if (opt.type === 'boolean') {
      if (inline !== undefined && !/^(true|false|1|0)$/.test(inline)) throw new UsageError(`--${opt.name} is a flag: use --${opt.name} or --no-${opt.name}`, spec.name);
      out.options[opt.name] = negated ? false : inline === undefined ? true : inline === 'true' || inline === '1';
      continue;
    }
    if (inline === undefined) {
      inline = argv[++i];
      if (inline === undefined) throw new UsageError(`--${opt.name} needs a value`, spec.name);
    }
    if (opt.type === 'number') {
      const n = Number(inline);
      if (!Number.isFinite(n) || inline.trim() === '') throw new UsageError(`--${opt.name} expects a number, got "${inline}"`, spec.name);
      if (opt.range && !inRange(n, opt.range)) throw new UsageError(`--${opt.name} must be ${rangeText(opt.range)}, got ${inline}`, spec.name);
      out.options[opt.name] = n;
    } else if (opt.type === 'list') {
      const prev = (out.options[opt.name] as string[] | undefined) ?? [];
      out.options[opt.name] = [...prev, ...inline.split(',').filter(Boolean)];
    } else {
      if (opt.choices && !opt.choices.includes(inline)) throw new UsageError(`--${opt.name} must be one of ${opt.choices.join(', ')}, got "${inline}"`, spec.name);
      out.options[opt.name] = inline;
    }
  }

  if (out.options.help) return out;
  const positionals = spec.positionals ?? [];
  const required = positionals.filter((p) => !p.optional).length;
  if (out.positionals.length < required) {
    const missing = positionals.filter((p) => !p.optional)[out.positionals.length];
    throw new UsageError(`missing <${missing.name}>: ${missing.description}`, spec.name);
  }
  if (!positionals.some((p) => p.variadic) && out.positionals.length > positionals.length) {
    throw new UsageError(`unexpected argument "${out.positionals[positionals.length]}"`, spec.name);
  }
  return out;
}

export function commandHelp(spec: CommandSpec): string {
  const pos = (spec.positionals ?? []).map((p) => (p.optional ? `[${p.name}${p.variadic ? '...' : ''}]` : `<${p.name}${p.variadic ? '...' : ''}>`));
  const lines = [`Usage: cvw ${spec.name}${pos.length ? ' ' + pos.join(' ') : ''} [options]${spec.overrides ? ' [--key.path value ...]' : ''}`, '', spec.summary, ''];
  if (spec.positionals?.length) {
    lines.push('Arguments:');
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(24)} ${p.description}`);
    lines.push('');
  }
  lines.push('Options:');
  for (const o of [...(spec.options ?? []), HELP]) {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${o.name}${o.type === 'boolean' ? '' : ` <${o.valueName ?? o.choices?.join('|') ?? (o.type === 'number' ? 'n' : 'value')}>`}`;
    // An upper bound is news to the reader; "a positive integer" is what <n> already says.
    const bound = o.range?.max !== undefined ? rangeText(o.range) : undefined;
    const extra = [o.default !== undefined && o.type !== 'boolean' ? `default: ${o.default}` : undefined, bound].filter(Boolean);
    lines.push(`  ${flag.padEnd(24)} ${o.description}${extra.length ? ` (${extra.join('; ')})` : ''}`);
  }
  if (spec.overrides) {
    lines.push('', 'Config overrides:', '  --<key.path> <value>     Set any config key, typed by its schema: --model.head.num_classes 10, --data.train.batch_size=256');
  }
  if (spec.details) lines.push('', spec.details);
  return lines.join('\n');
}
