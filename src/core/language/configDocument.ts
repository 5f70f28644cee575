/**
 * One config document as the editor sees it: its text (perhaps unsaved, perhaps half-typed), the
 * forgiving tree of that text, and what it inherits through `_base_`, so that the schema at any
 * key path is known even when the `type` that decides it is written in a base file.
 */
import * as path from 'node:path';
import type { z } from 'zod';
import { loadConfig, type LoadedConfig, type LoadOptions } from '../config/load';
import { BASE_KEY, getPath, mergeSourced, type Sourced } from '../config/merge';
import { schemaAt as coreSchemaAt } from '../config/overrides';
import { joinPath, type Origins } from '../config/yamlFile';
import { loadCustomImports } from '../customImports';
import type { ComponentKind } from '../kinds';
import type { Range } from '../problems';
import { registries, type RegisteredComponent } from '../registry';
import { isPlainObject, slotKindOf } from '../schema';
import { TextIndex } from './textIndex';
import { scanYaml, toValue, type PathSegment, type YamlNode } from './yamlScan';

type AnySchema = z.core.$ZodType;

export interface LanguageOptions extends LoadOptions {
  /** Load `custom_imports` for completion, hover and definitions (default true; false in an untrusted workspace). */
  customImports?: boolean;
}

export interface BaseReference {
  /** As written. */
  raw: string;
  /** Absolute path. */
  file: string;
  /** Offsets of the path's text in this document. */
  start: number;
  end: number;
}

/** What a slot holds at a path: its kind, and the component when its `type` is known. */
export interface SlotInfo {
  kind: ComponentKind;
  type?: string;
  entry?: RegisteredComponent;
}

export class ConfigDocument {
  readonly index: TextIndex;
  readonly root: YamlNode;
  private inheritedCache?: Sourced;
  private mergedCache?: Sourced;

  constructor(
    /** Absolute path of the document (unsaved documents: where they would be saved). */
    readonly file: string,
    readonly text: string,
    readonly options: LanguageOptions = {},
  ) {
    this.index = new TextIndex(text);
    this.root = scanYaml(text);
  }

  /** JSON configs get JSON insertions (quoted keys and strings). */
  get isJson(): boolean {
    return path.extname(this.file).toLowerCase() === '.json';
  }

  get dir(): string {
    return path.dirname(this.file);
  }

  range(start: number, end: number): Range {
    return this.index.range(start, end);
  }

  /** The `_base_` paths written in this document. */
  baseReferences(): BaseReference[] {
    if (this.root.kind !== 'map') return [];
    const pair = this.root.pairs.find((p) => p.key === BASE_KEY && p.colon !== undefined);
    const v = pair?.value;
    if (!v) return [];
    const scalars = v.kind === 'scalar' ? [v] : v.kind === 'seq' ? v.items.flatMap((i) => (i.value?.kind === 'scalar' ? [i.value] : [])) : [];
    return scalars
      .filter((s) => typeof s.value === 'string' && s.value.trim() !== '')
      .map((s) => ({ raw: String(s.value), file: path.resolve(this.dir, String(s.value)), start: s.start, end: s.end }));
  }

  /** The merged values and origins of the `_base_` files (what this document inherits). */
  get inherited(): Sourced {
    if (!this.inheritedCache) {
      let acc: Sourced = { value: {}, origins: new Map() };
      for (const b of this.baseReferences()) {
        if (b.file === this.file) continue;
        const loaded = loadConfig(b.file, this.options);
        acc = mergeSourced(acc, { value: loaded.marked, origins: loaded.origins });
      }
      this.inheritedCache = acc;
    }
    return this.inheritedCache;
  }

  /** This document over its bases: values and origins, as `loadConfig` would merge them. */
  get merged(): Sourced {
    if (!this.mergedCache) {
      const local = toValue(this.root, true);
      const own: Record<string, unknown> = isPlainObject(local) ? { ...local } : {};
      delete own[BASE_KEY];
      const origins: Origins = new Map();
      collectOrigins(this.root, '', this, origins);
      this.mergedCache = mergeSourced(this.inherited, { value: own, origins });
    }
    return this.mergedCache;
  }

  get value(): Record<string, unknown> {
    return this.merged.value;
  }

  /** The schema of the value at `segments`, following `type` names through slots. */
  schemaAt(segments: readonly PathSegment[]): AnySchema | undefined {
    return coreSchemaAt(this.value, segments.map(String));
  }

  /** The slot at a path, if the value there is a component. */
  slotAt(segments: readonly PathSegment[]): SlotInfo | undefined {
    const schema = this.schemaAt(segments);
    const kind = schema && slotKindOf(schema);
    if (!kind) return undefined;
    const v = getPath(this.value, segments.map(String));
    const type = isPlainObject(v) && typeof v.type === 'string' ? v.type : undefined;
    return { kind, type, entry: type ? registries[kind].get(type) : undefined };
  }

  /**
   * Load (or reload, when edited) the custom modules this document imports, so that their
   * components are known. Failures are the diagnostics' business; here they only leave names out.
   */
  loadCustomComponents(): void {
    if (this.options.customImports === false) return;
    const m = this.merged;
    if (!Array.isArray(m.value.custom_imports)) return;
    const loaded: LoadedConfig = { file: this.file, config: m.value, marked: m.value, origins: m.origins, files: [], parsed: new Map(), bases: new Map(), problems: [] };
    try {
      loadCustomImports(loaded);
    } catch {
      // A module that throws is reported by validation, not by completion.
    }
  }
}

function collectOrigins(node: YamlNode | undefined, at: string, doc: ConfigDocument, out: Origins): void {
  if (!node) return;
  out.set(at, { file: doc.file, value: doc.range(node.start, node.end) });
  if (node.kind === 'map') {
    for (const p of node.pairs) {
      if (p.colon === undefined) continue;
      const child = joinPath(at, p.key);
      if (at === '' && p.key === BASE_KEY) continue;
      collectOrigins(p.value, child, doc, out);
      const key = doc.range(p.keyStart, p.keyEnd);
      const existing = out.get(child);
      out.set(child, { file: doc.file, key, value: existing?.value ?? doc.range(p.colon + 1, p.colon + 1) });
    }
  } else if (node.kind === 'seq') {
    node.items.forEach((item, i) => collectOrigins(item.value, joinPath(at, i), doc, out));
  }
}
