/**
 * Merge rules of `_base_` inheritance (OpenMMLab's): mappings merge key by key, anything else
 * (lists included) replaces, and `_delete_: true` in a mapping replaces the base mapping instead
 * of merging into it. Origins follow the values, so every key keeps the file that set it.
 */
import { isPlainObject } from '../schema';
import type { Origin, Origins } from './yamlFile';

export const DELETE_KEY = '_delete_';
export const BASE_KEY = '_base_';

export interface Sourced {
  value: Record<string, unknown>;
  origins: Origins;
}

/**
 * Visit `path` and every path below it in `value`, plus the `_delete_` marker of each mapping
 * (stripped from merged values, still in their origins). Walking the value, not every origin,
 * keeps a merge linear in the size of the config (a file of 400,000 keys was quadratic).
 */
function pathsUnder(value: unknown, path: string, visit: (p: string) => void): void {
  const join = (p: string, k: string | number) => (p === '' ? String(k) : `${p}.${k}`);
  const stack: Array<[unknown, string]> = [[value, path]];
  while (stack.length) {
    const [v, p] = stack.pop()!;
    visit(p);
    if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, join(p, i)]));
    else if (isPlainObject(v)) {
      for (const [k, x] of Object.entries(v)) stack.push([x, join(p, k)]);
      visit(join(p, DELETE_KEY));
    }
  }
}

/** A value of the base that the child replaced (not merged into): what was lost, and what won. */
export interface Replacement {
  path: string;
  /** Where the replaced value was written (undefined when the base had no origin for it). */
  lost: Origin | undefined;
  /** Where the winning value was written. */
  by: Origin | undefined;
  lostValue: unknown;
  value: unknown;
}

/** A value that a later file or override replaced: where it was written, and what it was. */
export interface Overridden {
  origin: Origin;
  value: unknown;
}

/** Remember at `path` that the value `origin` wrote was replaced (once per place: a diamond merges a base twice). */
export function noteOverridden(history: Map<string, Overridden[]>, path: string, origin: Origin, value: unknown): void {
  const list = history.get(path) ?? [];
  const same = (o: Origin) => o.file === origin.file && o.arg === origin.arg && o.value.start.line === origin.value.start.line && o.value.start.character === origin.value.start.character;
  if (!list.some((x) => same(x.origin))) list.push({ origin, value: stripDelete(value) });
  history.set(path, list);
}

/** `obj[key] = value` as an own key whatever its name (`obj.__proto__ = v` would set the prototype instead). */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** `child` over `base`; neither input is modified. `onReplace` hears of every base value the child replaced. */
export function mergeSourced(base: Sourced, child: Sourced, onReplace?: (r: Replacement) => void): Sourced {
  const origins: Origins = new Map(base.origins);
  const value = mergeAt(base.value, child.value, '', origins, child.origins, onReplace) as Record<string, unknown>;
  return { value, origins };
}

function mergeAt(base: unknown, child: unknown, path: string, origins: Origins, childOrigins: Origins, onReplace?: (r: Replacement) => void): unknown {
  if (isPlainObject(child) && isPlainObject(base) && child[DELETE_KEY] !== true) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(child)) {
      if (k === DELETE_KEY) continue;
      const p = path === '' ? k : `${path}.${k}`;
      setKey(out, k, mergeAt(Object.hasOwn(base, k) ? base[k] : undefined, v, p, origins, childOrigins, onReplace));
    }
    const own = childOrigins.get(path);
    if (own) origins.set(path, own);
    return out;
  }
  if (base !== undefined && onReplace) onReplace({ path, lost: origins.get(path), by: childOrigins.get(path), lostValue: base, value: child });
  pathsUnder(base, path, (p) => origins.delete(p));
  pathsUnder(child, path, (p) => {
    const o = childOrigins.get(p);
    if (o) origins.set(p, o);
  });
  // Markers stay until the whole chain is merged (loadConfig strips them): a mixin later in a
  // `_base_` list must still replace what the entries before it set.
  return child;
}

/** Remove `_delete_` markers (they only steer merging). */
export function stripDelete(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDelete);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (k !== DELETE_KEY) setKey(out, k, stripDelete(x));
  return out;
}

/** Set `value` at a dotted path, creating mappings on the way (for overrides). */
export function setPath(root: Record<string, unknown>, path: string[], value: unknown): void {
  let cur: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    const next: unknown = Array.isArray(cur) ? cur[Number(key)] : Object.hasOwn(cur, key) ? cur[key] : undefined;
    if (isPlainObject(next) || Array.isArray(next)) {
      cur = next;
    } else {
      const created: Record<string, unknown> = {};
      if (Array.isArray(cur)) cur[Number(key)] = created;
      else setKey(cur, key, created);
      cur = created;
    }
  }
  const last = path[path.length - 1];
  if (Array.isArray(cur)) cur[Number(last)] = value;
  else setKey(cur, last, value);
}

export function getPath(root: unknown, path: string[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (Array.isArray(cur)) cur = cur[Number(key)];
    else if (isPlainObject(cur)) cur = Object.hasOwn(cur, key) ? cur[key] : undefined;
    else return undefined;
  }
  return cur;
}
