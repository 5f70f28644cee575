/**
 * `custom_imports`: user modules (TypeScript or JavaScript) that register components exactly as
 * built-in ones do. TypeScript is stripped by sucrase, which keeps every line where it was, so
 * stack traces and breakpoints point at the user's own lines; an inline source map adds columns.
 *
 * Inside a custom module, `import ... from 'cv-workbench'` (and the toolkit's TensorFlow.js and
 * zod) resolve to the running toolkit's own instances, so registrations land in the registry
 * that validates and builds, whether the workspace has the package installed or not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Module from 'node:module';
import { registeringCustom, unregisterFile } from './registry';
import { locate } from './config/yamlFile';
import type { LoadedConfig } from './config/load';
import type { Problem } from './problems';
import { packageRoot } from './packageInfo';
import { ZERO_RANGE } from './problems';

type Loader = () => unknown;

const sharedModules = new Map<string, Loader>();
let hooked = false;
/** The mtime of each loaded custom module, so an edited module is loaded again. */
const loadedVersions = new Map<string, number>();

/** Make `import x from name` inside custom modules return `load()` (the toolkit's own instance). */
export function shareModule(name: string, load: Loader): void {
  sharedModules.set(name, load);
  installHooks();
}

interface ModuleInternals {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
  _extensions: Record<string, (m: { _compile(code: string, file: string): void }, file: string) => void>;
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  const M = Module as unknown as ModuleInternals;
  const originalLoad = M._load;
  let ownRoot: string | undefined;
  M._load = function (request: string, parent: unknown, isMain: boolean) {
    const shared = sharedModules.get(request);
    if (shared && isUserModule((parent as { filename?: string } | null)?.filename, (ownRoot ??= packageRoot()))) return shared();
    return originalLoad.call(this, request, parent, isMain);
  };
  for (const ext of ['.ts', '.mts', '.cts']) {
    if (M._extensions[ext]) continue;
    M._extensions[ext] = (m, file) => m._compile(transpileTypeScript(fs.readFileSync(file, 'utf8'), file), file);
  }
}

/** Code of the user's workspace: neither this package nor an installed dependency. */
function isUserModule(filename: string | undefined, ownRoot: string): boolean {
  if (!filename) return false;
  return !filename.startsWith(ownRoot + path.sep) && !filename.includes(`${path.sep}node_modules${path.sep}`);
}

/** TypeScript to CommonJS with the lines kept in place and an inline source map. */
export function transpileTypeScript(code: string, file: string): string {
  // sucrase is required lazily: only configs with custom TypeScript modules pay for it.
  const { transform } = require('sucrase') as typeof import('sucrase');
  const out = transform(code, {
    transforms: ['typescript', 'imports'],
    filePath: file,
    sourceMapOptions: { compiledFilename: path.basename(file) },
  });
  const map = out.sourceMap ? { ...out.sourceMap, sources: [file], sourcesContent: [code] } : undefined;
  return map ? `${out.code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}` : out.code;
}

/** The files a config's `custom_imports` name, resolved against the file that lists them. */
export function customImportFiles(loaded: LoadedConfig): Array<{ file: string; path: string }> {
  const list = loaded.config.custom_imports;
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry, i) => {
    if (typeof entry !== 'string') return [];
    const p = `custom_imports.${i}`;
    const from = locate(loaded.origins, p)?.location.file ?? loaded.file;
    const base = from.startsWith('<') ? process.cwd() : path.dirname(from);
    return [{ file: path.resolve(base, entry), path: p }];
  });
}

/**
 * Load (or, when edited since, reload) the config's custom modules. A module that fails to load
 * becomes a problem at its `custom_imports` entry, with the module's own line when known.
 */
export function loadCustomImports(loaded: LoadedConfig): Problem[] {
  installHooks();
  const problems: Problem[] = [];
  for (const { file, path: keyPath } of customImportFiles(loaded)) {
    const where = locate(loaded.origins, keyPath);
    const at = { file: where?.location.file ?? loaded.file, range: where?.location.range ?? ZERO_RANGE, path: keyPath };
    let mtime: number;
    try {
      mtime = fs.statSync(file).mtimeMs;
    } catch {
      problems.push({ severity: 'error', code: 'custom-import', message: `custom import not found: ${file}`, ...at });
      continue;
    }
    if (loadedVersions.get(file) === mtime) continue;
    unregisterFile(file);
    delete require.cache[file];
    try {
      registeringCustom(() => require(file), file);
      loadedVersions.set(file, mtime);
    } catch (err) {
      unregisterFile(file);
      problems.push({ severity: 'error', code: 'custom-import', message: `custom import ${path.basename(file)} failed: ${errorSummary(err, file)}`, ...at });
    }
  }
  return problems;
}

/** Why custom imports were not loaded, when the caller gives no reason of its own. */
export const CUSTOM_IMPORTS_OFF = 'validated with --no-custom-imports';

/**
 * The problems of a config checked without loading its custom modules: an information problem on
 * the `custom_imports` key saying they were not loaded and why, and unknown `type` names turned
 * into information too (they may be exactly the components those modules register). Configs that
 * import nothing keep their problems as they are.
 */
export function withoutCustomImports(loaded: LoadedConfig, problems: Problem[], reason = CUSTOM_IMPORTS_OFF): Problem[] {
  const files = customImportFiles(loaded);
  if (!files.length) return problems;
  const where = locate(loaded.origins, 'custom_imports', true);
  const names = files.map((f) => path.basename(f.file)).join(', ');
  const note: Problem = {
    severity: 'info',
    code: 'custom-import',
    message: `custom_imports not loaded: ${reason}; the components of ${names} are unknown here and not checked`,
    file: where?.location.file ?? loaded.file,
    range: where?.location.range ?? ZERO_RANGE,
    path: 'custom_imports',
  };
  return [note, ...problems.map((p) => (p.code === 'unknown-type' ? { ...p, severity: 'info' as const, message: `${p.message} (custom_imports not loaded)` } : p))];
}

function errorSummary(err: unknown, file: string): string {
  const e = err as Error & { loc?: { line: number; column: number } };
  if (e.loc) return `${file}:${e.loc.line}:${e.loc.column + 1}: ${e.message.replace(/ \(\d+:\d+\)$/, '')}`;
  const frame = e.stack?.split('\n').find((l) => l.includes(file));
  const m = frame && /:(\d+):(\d+)\)?$/.exec(frame);
  return m ? `${file}:${m[1]}:${m[2]}: ${e.message}` : e.message;
}
