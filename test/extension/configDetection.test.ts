import { describe, expect, it } from 'vitest';
import { looksLikeConfigText } from '../../src/extension/configDetection';

describe('looksLikeConfigText', () => {
  it('accepts a top-level _base_, as a path or a list', () => {
    expect(looksLikeConfigText('_base_: ../_base_/runtime.yaml\nseed: 1\n')).toBe(true);
    expect(looksLikeConfigText('_base_:\n  - a.yaml\n  - b.yaml\n')).toBe(true);
  });

  it('accepts a top-level model mapping with a type, block or flow style', () => {
    expect(looksLikeConfigText('seed: 0\nmodel:\n  backbone: {type: ResNet}\n  type: Classification\n')).toBe(true);
    expect(looksLikeConfigText('model: { type: Classification }\n')).toBe(true);
  });

  it('rejects YAML that only mentions the keys somewhere else', () => {
    expect(looksLikeConfigText('name: ci\njobs:\n  build:\n    model:\n      type: x\n')).toBe(false);
    expect(looksLikeConfigText('model:\n  name: gpt\n  backbone:\n    type: ResNet\n')).toBe(false);
    expect(looksLikeConfigText('model: resnet18\n')).toBe(false);
    expect(looksLikeConfigText('# _base_: x.yaml\nkey: 1\n')).toBe(false);
  });

  it('keeps a half-typed config a config while its YAML is broken', () => {
    expect(looksLikeConfigText('_base_: x.yaml\nmodel:\n  type: [Classification\n')).toBe(true);
  });

  it('answers for a YAML nested 4,000 deep without parsing it (the yaml parser can abort the process)', () => {
    const deep = 'model:\n' + Array.from({ length: 4000 }, (_, i) => ' '.repeat(i + 1) + 'a' + i + ':').join('\n') + ' 1\n';
    expect(looksLikeConfigText(deep)).toBe(true);
    expect(looksLikeConfigText('model: [' + '['.repeat(4000) + ']'.repeat(4001) + '\n')).toBe(true);
  });
});
