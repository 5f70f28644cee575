import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import '../../src/api';
import { checkConfig } from '../../src/core/check';
import { registries } from '../../src/core/registry';
import { tempFiles, lc } from '../helpers/tmp';

const neck = (param: string) => `import { register, z } from 'cv-workbench';

interface Unused { a: number }

register('neck', {
  type: 'MyNeck',
  description: 'A test neck',
  params: z.strictObject({ ${param}: z.number().int().min(1).describe('width') }),
  build: (p) => p,
});
`;

const t = tempFiles({
  'my_neck.ts': neck('hidden'),
  'broken.ts': "import { register } from 'cv-workbench';\nconst x: number = ;\n",
  'throws.ts': "import { register, z } from 'cv-workbench';\n\nthrow new Error('boom');\n",
  'cfg.yaml': 'custom_imports: [./my_neck.ts]\nmodel:\n  type: Classification\n  backbone: {type: ResNet}\n  neck: {type: MyNeck, hiden: 3}\n  head: {type: ClsHead, num_classes: 2}\n',
  'broken.yaml': 'custom_imports: [broken.ts, throws.ts, missing.ts]\n',
  // Loading it leaves a mark: the proof that a check without custom imports ran none of its code.
  'marker.ts': "import * as fs from 'node:fs';\nimport { register, z } from 'cv-workbench';\nfs.writeFileSync(__filename + '.loaded', 'x');\nregister('neck', { type: 'MarkerNeck', description: 'x', params: z.strictObject({}) });\n",
  'untrusted.yaml': 'model:\n  type: Classification\n  backbone: {type: ResNte}\n  neck: {type: MarkerNeck, gain: 2}\n  head: {type: ClsHead, num_classes: -1}\ncustom_imports: [./marker.ts]\n',
});
afterAll(() => {
  registries.neck.unregister('MyNeck');
  registries.neck.unregister('MarkerNeck');
  t.cleanup();
});

describe('custom_imports', () => {
  it('loads a TypeScript module that registers a component; its parameters are validated like built-ins', () => {
    const { problems } = checkConfig(t.file('cfg.yaml'));
    expect(registries.neck.get('MyNeck')).toMatchObject({ builtin: false, sourceFile: t.file('my_neck.ts') });
    expect(problems.map((p) => `${lc(p)} ${p.message}`)).toEqual([
      '5:3 model.neck: neck "MyNeck" is missing required parameter "hidden" (integer >= 1: width)',
      '5:24 unknown key "hiden" in neck "MyNeck" (model.neck) — did you mean "hidden"?',
    ]);
  });

  it('reloads an edited module: the new parameters apply without restarting', () => {
    fs.writeFileSync(t.file('my_neck.ts'), neck('hiden'));
    const later = Date.now() / 1000 + 5;
    fs.utimesSync(t.file('my_neck.ts'), later, later);
    expect(checkConfig(t.file('cfg.yaml')).problems).toEqual([]);
  });

  it('reports a module that fails to load at its custom_imports entry, with the module line', () => {
    const problems = checkConfig(t.file('broken.yaml')).problems;
    expect(problems.map((p) => [lc(p), p.code])).toEqual([
      ['1:18', 'custom-import'],
      ['1:29', 'custom-import'],
      ['1:40', 'custom-import'],
    ]);
    expect(problems[0].message).toMatch(/^custom import broken\.ts failed: .*broken\.ts:2:\d+: /);
    expect(problems[1].message).toMatch(/^custom import throws\.ts failed: .*throws\.ts:3:\d+: boom$/);
    expect(problems[2].message).toBe(`custom import not found: ${t.file('missing.ts')}`);
  });

  it('customImports: false runs no module: an information problem on the key, unknown types as information, the rest unchanged', () => {
    const marker = t.file('marker.ts.loaded');
    const { problems } = checkConfig(t.file('untrusted.yaml'), { customImports: false, customImportsOffReason: 'this workspace is not trusted' });
    expect(fs.existsSync(marker)).toBe(false);
    expect(registries.neck.get('MarkerNeck')).toBeUndefined();
    expect(problems.map((p) => `${lc(p)} ${p.severity} ${p.message}`)).toEqual([
      '6:1 info custom_imports not loaded: this workspace is not trusted; the components of marker.ts are unknown here and not checked',
      '3:20 info unknown backbone "ResNte" — did you mean "ResNet"? (custom_imports not loaded)',
      '4:16 info unknown neck "MarkerNeck" — did you mean "MAENeck"? (custom_imports not loaded)',
      '5:38 error model.head.num_classes: expected integer >= 1, got -1',
    ]);
    // The default reason names the CLI flag; with the modules loaded the same config is checked in full.
    expect(checkConfig(t.file('untrusted.yaml'), { customImports: false }).problems[0].message).toMatch(/^custom_imports not loaded: validated with --no-custom-imports;/);
    const loaded = checkConfig(t.file('untrusted.yaml')).problems;
    expect(fs.existsSync(marker)).toBe(true);
    expect(loaded.map((p) => `${lc(p)} ${p.severity} ${p.message}`)).toEqual([
      '3:20 error unknown backbone "ResNte" — did you mean "ResNet"?',
      '4:28 error unknown key "gain" in neck "MarkerNeck" (model.neck) (known: none)',
      '5:38 error model.head.num_classes: expected integer >= 1, got -1',
    ]);
  });
});
