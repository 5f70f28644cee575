/**
 * Where a component is registered, as a file a reader can open (`cvw show`): for built-ins the
 * TypeScript file in the package (`src/models/backbones/resnet.ts`) however the code runs — from
 * src/ through sucrase or vitest (the stack names the .ts file, lines kept), compiled in dist/lib
 * (tsc's map beside each .js), or bundled in dist/cli/main.js or dist/extension.js (esbuild's map).
 * The registry records only the stack's place; the map is read here, on demand, so that loading
 * the registry never parses a bundle's 10 MB map.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { packageRoot } from './packageInfo';
import type { RegisteredComponent, SourceLocation } from './registry';

/** `file` relative to the package root (with `/`) when it is inside it, else absolute. */
export interface RegistrationSource {
  file: string;
  line?: number;
}

const maps = new Map<string, SourceMap | null>();

/** The map written beside a compiled or bundled file (`<file>.map`), parsed once. */
function mapOf(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null; // no map: the generated file is the best answer
    }
    maps.set(file, map);
  }
  return map;
}

/** The original place of a place in generated JavaScript, through its source map. */
function original(at: SourceLocation): SourceLocation {
  if (!/\.[cm]?js$/.test(at.file)) return at;
  const map = mapOf(at.file);
  const entry = map?.findEntry(at.line - 1, at.column - 1);
  if (!entry || !('originalSource' in entry) || !entry.originalSource) return at;
  const source = entry.originalSource.startsWith('file://')
    ? fileURLToPath(entry.originalSource)
    : path.resolve(path.dirname(at.file), map!.payload.sourceRoot ?? '', entry.originalSource);
  return { file: source, line: entry.originalLine + 1, column: entry.originalColumn + 1 };
}

/** The file and line of the `register(...)` call of `entry`; undefined when nothing was recorded. */
export function registrationSource(entry: RegisteredComponent): RegistrationSource | undefined {
  const at = entry.registeredAt ? original(entry.registeredAt) : entry.sourceFile ? { file: entry.sourceFile } : undefined;
  if (!at) return undefined;
  let root: string | undefined;
  try {
    root = packageRoot();
  } catch {
    root = undefined; // loaded outside an installed package: absolute paths
  }
  const rel = root ? path.relative(root, at.file) : '';
  const file = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : at.file;
  return { file, line: 'line' in at ? at.line : undefined };
}
