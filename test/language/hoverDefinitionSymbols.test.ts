import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { ConfigDocument } from '../../src/core/language/configDocument';
import { hover } from '../../src/core/language/hover';
import { definition } from '../../src/core/language/definition';
import { documentSymbols, type ConfigSymbol } from '../../src/core/language/symbols';
import { componentPage } from '../../src/core/language/componentDocs';
import { unregisterFile } from '../../src/core/registry';
import { registerTestComponents, withCursor, yaml } from './fixtures';
import { tempFiles } from '../helpers/tmp';

let unregister: () => void;
beforeAll(() => {
  unregister = registerTestComponents();
});
afterAll(() => unregister());

const t = tempFiles({
  '_base_/model.yaml': yaml('model:', '  type: Classification', '  backbone:', '    type: ResNet', '    depth: 50', '    stem: cifar', '  head: {type: ClsHead, num_classes: 10}'),
  '_base_/runtime.yaml': yaml('_base_: model.yaml', 'seed: 7'),
  'my_neck.ts': [
    "import { register, z } from 'cv-workbench';",
    '',
    'register(\'neck\', {',
    "  type: 'ShinyNeck',",
    "  description: 'A custom neck',",
    '  params: z.strictObject({ width: z.number().default(4) }),',
    '});',
    '',
  ].join('\n'),
});
afterAll(() => {
  unregisterFile(t.file('my_neck.ts'));
  t.cleanup();
});

function docAt(source: string, name = 'child.yaml') {
  const { text, position } = withCursor(source);
  return { doc: new ConfigDocument(t.file(name), text), position };
}

const CHILD = (cursorLine: string) => yaml('_base_: _base_/runtime.yaml', 'custom_imports: [./my_neck.ts]', 'model:', '  backbone:', cursorLine, '  neck: {type: ShinyNeck}');

describe('hover', () => {
  it('describes a type name: what it is, its parameters and paper', () => {
    const { doc, position } = docAt(yaml('model:', '  type: Classification', '  backbone:', '    type: Res<|>Net'));
    const h = hover(doc, position)!;
    expect(h.range).toEqual({ start: { line: 3, character: 10 }, end: { line: 3, character: 16 } });
    expect(h.markdown).toContain('**ResNet** — backbone');
    expect(h.markdown).toContain('He et al., Deep Residual Learning');
    expect(h.markdown).toMatch(/\| `depth` \| 18 \\\| 34 \\\| 50 \\\| 101 \\\| 152 \| `18` \|/);
  });

  it('describes a parameter: type, default, range, description and owner', () => {
    const { doc, position } = docAt(yaml('model:', '  type: Classification', '  head:', '    type: ClsHead', '    drop<|>out: 0.1'));
    const h = hover(doc, position)!;
    expect(h.markdown).toContain('**dropout** · `number >= 0 <= 1` · default `0`');
    expect(h.markdown).toContain('Dropout probability');
    expect(h.markdown).toContain('head `ClsHead`');
  });

  it('says which base file set an overridden key, and lists inherited keys', () => {
    const over = docAt(CHILD('    de<|>pth: 18'));
    expect(hover(over.doc, over.position)!.markdown).toContain('Overrides `50` set in `_base_/model.yaml:5`');
    const mapping = docAt(CHILD('    depth: 18').replace('  back', '  back<|>'));
    const md = hover(mapping.doc, mapping.position)!.markdown;
    expect(md).toContain('- `type: ResNet` — `_base_/model.yaml:4`');
    expect(md).toContain('- `stem: cifar` — `_base_/model.yaml:6`');
    expect(md).toContain('Overrides `depth` of `_base_/model.yaml:3`');
  });

  it('knows custom components and the parameters of a type set in a base file', () => {
    const neck = docAt(CHILD('    depth: 18').replace('{type: Shiny', '{type: Sh<|>iny'));
    expect(hover(neck.doc, neck.position)!.markdown).toContain('Defined in `my_neck.ts` (custom_imports)');
    const stem = docAt(CHILD('    st<|>em: imagenet'));
    expect(stem.doc.slotAt(['model', 'backbone'])?.type).toBe('ResNet');
    expect(hover(stem.doc, stem.position)!.markdown).toContain('Overrides `cifar`');
  });

  it('has nothing to say on blank space', () => {
    const { doc, position } = docAt(yaml('model:', '  type: Classification', '  <|>'));
    expect(hover(doc, position)).toBeUndefined();
  });
});

describe('go to definition', () => {
  it('goes from a _base_ path to the file', () => {
    const { doc, position } = docAt(CHILD('    depth: 18').replace('runtime', 'run<|>time'));
    const d = definition(doc, position)!;
    expect(d.target).toEqual({ kind: 'file', file: t.file('_base_/runtime.yaml'), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } });
    expect(d.origin).toEqual({ start: { line: 0, character: 8 }, end: { line: 0, character: 27 } });
    // A folder named as a base is no file to open; the hover says what the validator says.
    const folder = docAt(yaml('_base_: _ba<|>se_', 'seed: 1'));
    expect(definition(folder.doc, folder.position)).toBeUndefined();
    expect(hover(folder.doc, folder.position)!.markdown).toBe(`\`${t.file('_base_')}\` is not a file`);
  });

  it('goes from a custom type to its registration, and from a custom import to the module', () => {
    const { doc, position } = docAt(CHILD('    depth: 18').replace('{type: Shiny', '{type: Sh<|>iny'));
    expect(definition(doc, position)!.target).toEqual({ kind: 'file', file: t.file('my_neck.ts'), range: { start: { line: 3, character: 9 }, end: { line: 3, character: 18 } } });
    const imp = docAt(CHILD('    depth: 18').replace('./my_', './m<|>y_'));
    expect(definition(imp.doc, imp.position)!.target).toMatchObject({ kind: 'file', file: t.file('my_neck.ts') });
  });

  it('goes from a built-in type to its documentation page', () => {
    const { doc, position } = docAt(yaml('model:', '  type: Classification', '  head: {type: Cls<|>Head}'));
    expect(definition(doc, position)!.target).toEqual({ kind: 'doc', componentKind: 'head', type: 'ClsHead' });
    const page = componentPage('head', 'TestHead');
    expect(page).toContain('# TestHead');
    expect(page).toContain('- `in_channels` — `integer >= 1`, **required**: Input channels');
    expect(page).toContain('```yaml\nhead:\n  type: TestHead\n  in_channels: 1\n  hidden: 128\n```');
  });
});

describe('outline', () => {
  const names = (s: ConfigSymbol[]): unknown => s.map((x) => (x.children.length ? { [x.name]: names(x.children) } : x.name));

  it('lists sections, components by type and keys, with ranges', () => {
    const text = yaml('_base_: base.yaml', 'model:', '  type: Classification', '  backbone:', '    type: ResNet', '    depth: 18', 'hooks:', '  - type: TestHook', '    every: 5', 'seed: 3');
    const symbols = documentSymbols(new ConfigDocument(path.join(t.dir, 'x.yaml'), text));
    expect(names(symbols)).toEqual(['_base_', { model: ['type', { backbone: ['type', 'depth'] }] }, { hooks: [{ TestHook: ['type', 'every'] }] }, 'seed']);
    const model = symbols[1];
    expect(model).toMatchObject({ kind: 'component', detail: 'Classification' });
    expect(model.range).toEqual({ start: { line: 1, character: 0 }, end: { line: 5, character: 13 } });
    expect(model.selectionRange).toEqual({ start: { line: 1, character: 0 }, end: { line: 1, character: 5 } });
    expect(symbols[2]).toMatchObject({ kind: 'section', detail: '1 item' });
    expect(symbols[3]).toMatchObject({ kind: 'section', detail: '3' });
  });

  it('survives a half-typed line', () => {
    const text = yaml('model:', '  type: Classification', '  backbone:', '    type: ResNet', '    dep', 'seed: 3');
    const symbols = documentSymbols(new ConfigDocument(path.join(t.dir, 'x.yaml'), text));
    expect(names(symbols)).toEqual([{ model: ['type', { backbone: ['type', 'dep'] }] }, 'seed']);
  });
});
