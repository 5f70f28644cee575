/** Pieces shared by the data sources: class lists, subsets, listing image files. */
import * as buffer from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { UserError } from '../../core/problems';
import { readRegularFile, UnreadableFile } from '../../core/boundedRead';
import { isImageFile } from '../formats';
import type { OpenContext } from '../types';

/** `classes`: the names in order, or a text file with one name per line. */
export const classesParam = z
  .union([z.array(z.string()).min(1), z.string()])
  .optional()
  .describe('Class names in label order, or a text file with one name per line');

export const colorParam = z.enum(['rgb', 'grey']).default('rgb').describe('Decode images to RGB (3 channels) or grey (1 channel)');

export function channelsOf(color: 'rgb' | 'grey'): number {
  return color === 'rgb' ? 3 : 1;
}

/** Read the `classes` parameter: inline names, or a file of names. */
export function loadClasses(value: string[] | string | undefined, ctx: OpenContext): string[] | undefined {
  if (value === undefined || Array.isArray(value)) return value;
  const file = ctx.resolvePath(value);
  const names = readText(file, 'class-names file').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (!names.length) throw new UserError(`${file}: no class names in it (expected one name per line)`);
  return names;
}

/** Which standard subset a source reads: its own `subset`, or the loader's split (val reads test). */
export function subsetFor(subset: 'train' | 'test' | undefined, ctx: OpenContext): 'train' | 'test' {
  return subset ?? (ctx.split === 'train' ? 'train' : 'test');
}

export function readText(file: string, what: string): string {
  return readBytes(file, what).toString('utf8');
}

/** A data file's bytes; it must be a regular file (a FIFO or /dev/zero would block or never end). */
export function readBytes(file: string, what: string): Buffer {
  try {
    return readRegularFile(file, { what, maxBytes: buffer.constants.MAX_LENGTH });
  } catch (err) {
    if (err instanceof UnreadableFile) throw new UserError(err.message);
    throw fileError(file, what, err);
  }
}

export function fileError(file: string, what: string, err: unknown): UserError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new UserError(`${what} not found: ${file}`);
  if (code === 'EISDIR') return new UserError(`${what} ${file} is a folder; expected a file`);
  return new UserError(`cannot read ${what} ${file}: ${(err as Error).message}`);
}

export function requireDir(dir: string, what: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UserError(`${what} not found: ${dir}`);
  }
  if (!st.isDirectory()) throw new UserError(`${what} ${dir} is a file; expected a folder`);
}

/**
 * Whether a directory entry is a folder, a symbolic link to one included: torchvision's
 * ImageFolder follows links (a subset of ImageNet is often made of links to its class folders).
 */
export function isFolderEntry(e: fs.Dirent, dir: string): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return fs.statSync(path.join(dir, e.name)).isDirectory();
  } catch {
    return false; // a dangling link
  }
}

/**
 * Image files under `dir`, recursively (through linked folders too), sorted by path (a stable
 * order whatever the file system). A linked folder that is one of its own ancestors is a loop:
 * it is not entered again (torchvision's os.walk would go round it until the path is too long).
 */
export function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, ancestors: string[]) => {
    const real = fs.realpathSync(d);
    if (ancestors.includes(real)) return;
    const entries = fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (isFolderEntry(e, d)) walk(p, [...ancestors, real]);
      else if ((e.isFile() || e.isSymbolicLink()) && isImageFile(e.name)) out.push(p);
    }
  };
  walk(dir, []);
  return out;
}
