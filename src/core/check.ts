/**
 * Load, override, import custom components, validate: the one path from a config file to a
 * checked config, used by every `cvw` command and by the editor.
 */
import { loadConfig, type LoadedConfig, type LoadOptions } from './config/load';
import { applyOverrides, overrideList, type Overrides } from './config/overrides';
import { loadCustomImports, withoutCustomImports } from './customImports';
import { withDefaults } from './defaults';
import { isPlainObject } from './schema';
import { clipMessage, ConfigError, UserError, type Problem } from './problems';
import { validateConfig } from './validate';

export interface CheckOptions extends LoadOptions {
  overrides?: Overrides;
  /**
   * Load `custom_imports` (default true). False runs no workspace code: an information problem on
   * the key says so, and unknown `type` names become information (see `withoutCustomImports`).
   */
  customImports?: boolean;
  /** Why custom imports are not loaded, for that problem (an untrusted workspace, a CLI flag). */
  customImportsOffReason?: string;
  /**
   * Check `file` as a base fragment (default: when it lies under a `_base_/` folder): a missing
   * `type` or required parameter is not a problem there, since the configs that include the
   * fragment complete it (and are checked whole). `resolveConfig` always checks whole.
   */
  fragment?: boolean;
}

/** Base files (in a `_base_` folder) are fragments that other configs include and complete. */
export function isBaseConfigFile(file: string): boolean {
  return file.split(/[\\/]/).includes('_base_');
}

/** What a fragment may leave out. */
const INCOMPLETE: ReadonlySet<Problem['code']> = new Set(['missing-type', 'missing-required']);

export interface CheckResult {
  loaded: LoadedConfig;
  problems: Problem[];
}

export function checkConfig(file: string, options: CheckOptions = {}): CheckResult {
  const loaded = loadConfig(file, options);
  const problems = [...loaded.problems];
  // Validating a half-parsed file would only repeat the syntax error in other words.
  const unread = (p: Problem) => (p.code === 'file-not-found' || p.code === 'file-unreadable') && p.file === loaded.file && p.path === '';
  if (problems.some((p) => p.code === 'yaml-syntax' || p.code === 'too-large' || unread(p))) {
    return { loaded, problems: problems.map(clipped) };
  }
  // Loops, not push(...list): a config of 400,000 keys gives as many problems, more than a call's arguments.
  const add = (list: Problem[]) => {
    for (const p of list) problems.push(p);
  };
  add(applyOverrides(loaded, overrideList(options.overrides)));
  const custom = options.customImports !== false;
  if (custom) add(loadCustomImports(loaded));
  const found = validateConfig(loaded);
  add(custom ? found : withoutCustomImports(loaded, found, options.customImportsOffReason));
  const fragment = options.fragment ?? isBaseConfigFile(loaded.file);
  return { loaded, problems: dedupe(fragment ? problems.filter((p) => !INCOMPLETE.has(p.code)) : problems).map(clipped) };
}

/** Every problem leaves with lines of bounded length: editors show `message` as it is. */
function clipped(p: Problem): Problem {
  const message = clipMessage(p.message);
  return message === p.message ? p : { ...p, message };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.file}:${p.range.start.line}:${p.range.start.character}:${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export interface ResolvedConfig {
  /** The merged, overridden config with every default filled in. */
  config: Record<string, unknown>;
  loaded: LoadedConfig;
  warnings: Problem[];
}

/** A config ready to run; throws `ConfigError` with every problem when it is not. */
export function resolveConfig(file: string, options: CheckOptions = {}): ResolvedConfig {
  const { loaded, problems } = checkConfig(file, { ...options, fragment: false });
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length) throw new ConfigError(errors);
  return { config: withDefaults(loaded.config), loaded, warnings: problems.filter((p) => p.severity !== 'error') };
}

/**
 * A config `cvw train` can start: resolved, with a model. Checked where a training is set to start
 * later too (`cvw queue add`, `cvw submit`): an empty file resolves, and its error came only when
 * the entry or the job started.
 */
export function resolveTrainingConfig(file: string, options: CheckOptions = {}): ResolvedConfig {
  const resolved = resolveConfig(file, options);
  if (!isPlainObject(resolved.config.model)) throw new UserError(`${file}: the config has no model: add a \`model:\` section with a type (e.g. Classification)`);
  return resolved;
}
