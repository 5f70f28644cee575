/**
 * The outline of a config: its sections (model, data, optimizer, ...), the components inside them
 * named by their `type`, and every key below, from the forgiving reader so the outline survives
 * a half-typed line.
 */
import type { Range } from '../problems';
import type { ConfigDocument } from './configDocument';
import { typeOf, type YamlNode } from './yamlScan';

export type ConfigSymbolKind = 'section' | 'component' | 'mapping' | 'list' | 'string' | 'number' | 'boolean' | 'null';

export interface ConfigSymbol {
  name: string;
  /** The component's `type`, or the scalar's text. */
  detail?: string;
  kind: ConfigSymbolKind;
  /** The whole entry (key and value). */
  range: Range;
  /** The key (or the list item's dash), contained in `range`. */
  selectionRange: Range;
  children: ConfigSymbol[];
}

export function documentSymbols(doc: ConfigDocument): ConfigSymbol[] {
  return childrenOf(doc, doc.root, true);
}

function childrenOf(doc: ConfigDocument, node: YamlNode | undefined, top: boolean): ConfigSymbol[] {
  if (!node || node.kind === 'scalar') return [];
  if (node.kind === 'map') {
    return node.pairs
      .filter((p) => p.key !== '')
      .map((p) => {
        const range = doc.range(p.start, Math.max(p.end, p.keyEnd));
        const sym = symbolFor(doc, p.key, p.value, range, doc.range(p.keyStart, p.keyEnd));
        if (top && sym.kind !== 'component') sym.kind = 'section';
        return sym;
      });
  }
  return node.items.map((item, i) => {
    const start = item.dash ?? item.start;
    const range = doc.range(start, Math.max(item.end, start + 1));
    const selection = item.dash !== undefined ? doc.range(item.dash, item.dash + 1) : doc.range(item.start, item.end);
    const type = typeOf(item.value);
    return symbolFor(doc, type ?? String(i), item.value, range, selection);
  });
}

function symbolFor(doc: ConfigDocument, name: string, value: YamlNode | undefined, range: Range, selectionRange: Range): ConfigSymbol {
  const children = childrenOf(doc, value, false);
  if (!value) return { name, kind: 'null', range, selectionRange, children };
  if (value.kind === 'scalar') {
    const v = value.value;
    const kind: ConfigSymbolKind = v === null ? 'null' : typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string';
    return { name, detail: value.raw, kind, range, selectionRange, children };
  }
  if (value.kind === 'seq') return { name, detail: `${value.items.length} item${value.items.length === 1 ? '' : 's'}`, kind: 'list', range, selectionRange, children };
  const type = typeOf(value);
  return { name, detail: type, kind: type ? 'component' : 'mapping', range, selectionRange, children };
}
