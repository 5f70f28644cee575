import { afterAll, describe, expect, it } from 'vitest';
import '../../src/builtins';
import { checkConfig } from '../../src/core/check';
import { tempFiles, lc } from '../helpers/tmp';

const t = tempFiles({
  'base.yaml': ['model:', '  type: Classification', '  backbone:', '    type: ResNte', '    depth: 18', '  head:', '    type: ClsHead', '    num_classes: 10', ''].join('\n'),
  'mid.yaml': ['_base_: base.yaml', 'model:', '  backbone:', '    depth: 19', ''].join('\n'),
  'child.yaml': ['_base_: mid.yaml', 'model:', '  head:', '    dropuot: 0.5', ''].join('\n'),
});
afterAll(() => t.cleanup());

describe('validation errors point into the file that wrote the value', () => {
  it('reports a typo two _base_ levels up at its line and column', () => {
    const { problems } = checkConfig(t.file('child.yaml'));
    const unknown = problems.find((p) => p.code === 'unknown-type')!;
    expect(unknown.file).toBe(t.file('base.yaml'));
    expect(lc(unknown)).toBe('4:11');
    expect(unknown.message).toBe('unknown backbone "ResNte" — did you mean "ResNet"?');
    expect(unknown.suggestions).toEqual(['ResNet']);
  });

  it('reports an unknown key in the child with a suggestion', () => {
    const { problems } = checkConfig(t.file('child.yaml'));
    const key = problems.find((p) => p.code === 'unknown-key')!;
    expect(key.file).toBe(t.file('child.yaml'));
    expect(lc(key)).toBe('4:5');
    expect(key.suggestions).toEqual(['dropout']);
  });
});
