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
});
afterAll(() => {
  registries.neck.unregister('MyNeck');
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
});
