import { describe, expect, it } from 'vitest';
import { looksLikeConfigText, MAX_DETECTION_BYTES } from '../../src/extension/configDetection';

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

  it('answers for a YAML nested past the limit without parsing it (the yaml parser can abort the process)', () => {
    const deep = 'model:\n' + Array.from({ length: 300 }, (_, i) => ' '.repeat(i + 1) + 'a' + i + ':').join('\n') + ' 1\n';
    expect(looksLikeConfigText(deep)).toBe(true);
    expect(looksLikeConfigText('model: [' + '['.repeat(4000) + ']'.repeat(4001) + '\n')).toBe(true);
  });

  it('takes a file past 64 KiB for data without parsing it (a 1 MiB file took seconds)', () => {
    const config = 'model:\n  type: Classification\n';
    const filler = (bytes: number) => Array.from({ length: Math.ceil(bytes / 12) }, (_, i) => `k${String(i).padStart(7, '0')}: 1\n`).join('');
    expect(looksLikeConfigText(config + filler(MAX_DETECTION_BYTES - 200))).toBe(true);
    expect(looksLikeConfigText(config + filler(MAX_DETECTION_BYTES))).toBe(false);
    expect(looksLikeConfigText(config + filler(1 << 20))).toBe(false);
    // Counted in UTF-8 bytes, as the workspace scan reads files.
    expect(looksLikeConfigText(config + '# ' + 'é'.repeat(MAX_DETECTION_BYTES / 2) + '\n')).toBe(false);
  });
});
