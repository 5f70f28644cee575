/**
 * Merge rules of `_base_` inheritance (OpenMMLab's): mappings merge key by key, anything else
 * (lists included) replaces, and `_delete_: true` in a mapping replaces the base mapping instead
 * of merging into it. Origins follow the values, so every key keeps the file that set it.
 */
import { isPlainObject } from '../schema';
import type { Origins } from './yamlFile';

export const DELETE_KEY = '_delete_';
export const BASE_KEY = '_base_';

export interface Sourced {
  value: Record<string, unknown>;
  origins: Origins;
}

function dropOriginsUnder(origins: Origins, path: string): void {
  const prefix = path === '' ? '' : path + '.';
  for (const k of [...origins.keys()]) if (k === path || k.startsWith(prefix)) origins.delete(k);
}

function copyOriginsUnder(from: Origins, to: Origins, path: string): void {
  const prefix = path === '' ? '' : path + '.';
  for (const [k, o] of from) if (k === path || k.startsWith(prefix)) to.set(k, o);
}

/** `child` over `base`; neither input is modified. */
export function mergeSourced(base: Sourced, child: Sourced): Sourced {
  const origins: Origins = new Map(base.origins);
  const value = mergeAt(base.value, child.value, '', origins, child.origins) as Record<string, unknown>;
  return { value, origins };
}

function mergeAt(base: unknown, child: unknown, path: string, origins: Origins, childOrigins: Origins): unknown {
  if (isPlainObject(child) && isPlainObject(base) && child[DELETE_KEY] !== true) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(child)) {
      if (k === DELETE_KEY) continue;
      const p = path === '' ? k : `${path}.${k}`;
      out[k] = mergeAt(base[k], v, p, origins, childOrigins);
    }
    const own = childOrigins.get(path);
    if (own) origins.set(path, own);
    return out;
  }
  dropOriginsUnder(origins, path);
  copyOriginsUnder(childOrigins, origins, path);
  return stripDelete(child);
}

/** Remove `_delete_` markers (they only steer merging). */
export function stripDelete(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDelete);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (k !== DELETE_KEY) out[k] = stripDelete(x);
  return out;
}

/** Set `value` at a dotted path, creating mappings on the way (for overrides). */
export function setPath(root: Record<string, unknown>, path: string[], value: unknown): void {
  let cur: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    const next: unknown = Array.isArray(cur) ? cur[Number(key)] : cur[key];
    if (isPlainObject(next) || Array.isArray(next)) {
      cur = next;
    } else {
      const created: Record<string, unknown> = {};
      if (Array.isArray(cur)) cur[Number(key)] = created;
      else cur[key] = created;
      cur = created;
    }
  }
  const last = path[path.length - 1];
  if (Array.isArray(cur)) cur[Number(last)] = value;
  else cur[last] = value;
}

export function getPath(root: unknown, path: string[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (Array.isArray(cur)) cur = cur[Number(key)];
    else if (isPlainObject(cur)) cur = cur[key];
    else return undefined;
  }
  return cur;
}
