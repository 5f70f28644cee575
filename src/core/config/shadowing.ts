/**
 * Values of a `_base_` chain that silently never apply.
 *
 * A file overriding a value of a file it inherits from is what `_base_` is for, and is never
 * reported; neither is a plain base (a file without `_base_` of its own, a library of defaults)
 * whose values a later entry of a `_base_` list overlays, the way `[model.yaml, sample_data.yaml]`
 * patches a dataset: that is the mixin pattern, used on purpose (every *_sample.yaml config of
 * this repository does it). What is reported is a value written by a file that has a `_base_` of its own,
 * so a deliberate override of its bases, that is replaced by a file that does NOT inherit from it
 * and still wins in the merged config: a later entry of the same `_base_` list, or a base loaded
 * again through another branch of a diamond (`a.yaml` overrides `runtime.yaml`, then `b.yaml`
 * brings `runtime.yaml` back and undoes it). Editing that value then changes nothing, which is
 * the hour lost. It is a warning at the line that wrote it, naming the line that wins. Equal
 * values are not reported (nothing is lost), nor a file's value that the command line replaces (an
 * explicit, one-off choice; an option given twice is reported by overrides.ts), nor a value that a
 * file inheriting from the writer sets again in the end, nor a mapping replaced by one marked
 * `_delete_: true` (a replacement written on purpose).
 */
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describeValue } from '../format';
import { COMMAND_LINE, type Problem, type Range } from '../problems';
import { DELETE_KEY, stripDelete, type Replacement } from './merge';
import { isPlainObject } from '../schema';
import { locate, type Origins } from './yamlFile';
import { MAX_PROBLEMS } from '../validate';

/** Whether `file` has `ancestor` in its `_base_` chain (`bases`: each file's direct bases). */
export function inheritsFrom(file: string, ancestor: string, bases: Map<string, string[]>): boolean {
  const seen = new Set<string>();
  const todo = [...(bases.get(file) ?? [])];
  while (todo.length) {
    const f = todo.pop()!;
    if (f === ancestor) return true;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...(bases.get(f) ?? []));
  }
  return false;
}

/** `file:line:column` of a range (1-based, as compilers print positions). */
export function fileAt(file: string, range: Range): string {
  return `${file}:${range.start.line + 1}:${range.start.character + 1}`;
}

/** A replacement made while `loader` merged its `_base_` list: a candidate for a warning. */
export interface ShadowCandidate extends Replacement {
  loader: string;
}

/**
 * The warnings for the candidates of one load, judged against the merged config's final
 * `origins` (what wins in the end) and each file's direct `bases` (see the module comment).
 */
export function shadowedValues(candidates: ShadowCandidate[], origins: Origins, bases: Map<string, string[]>): Problem[] {
  const out: Problem[] = [];
  let unlisted = 0;
  for (const c of candidates) {
    const { lost, by } = c;
    if (!lost || !by || lost.file === COMMAND_LINE || by.file === COMMAND_LINE || lost.file === by.file) continue;
    if (!bases.get(lost.file)?.length || inheritsFrom(by.file, lost.file, bases)) continue;
    const final = locate(origins, c.path)?.origin;
    if (!final || final.file === lost.file || inheritsFrom(final.file, lost.file, bases)) continue;
    if (isDeepStrictEqual(stripDelete(c.lostValue), stripDelete(c.value))) continue;
    if (isPlainObject(c.value) && c.value[DELETE_KEY] === true) continue;
    if (out.length >= MAX_PROBLEMS) {
      unlisted++;
      continue;
    }
    const at = by.key ?? by.value;
    // Relative to this file's folder, as its `_base_` entries are written.
    const winner = fileAt(path.relative(path.dirname(lost.file), by.file), at);
    const loader = path.basename(c.loader);
    out.push({
      severity: 'warning',
      code: 'shadowed-value',
      message:
        `${c.path}: ${describeValue(stripDelete(c.lostValue))} here never applies: ${winner} sets it again, later in the _base_ list of ${loader}, ` +
        `and does not inherit from this file (set the value in ${loader}, or reorder its _base_ list)`,
      file: lost.file,
      range: lost.key ?? lost.value,
      path: c.path,
      data: { by: { file: by.file, range: at } },
    });
  }
  if (unlisted) out.push({ ...out[out.length - 1], data: undefined, message: `${unlisted.toLocaleString('en')} more values that never apply after these ${MAX_PROBLEMS.toLocaleString('en')} are not listed` });
  return out;
}
