import { describe, expect, it } from 'vitest';
import '../../src/builtins';
import { registries } from '../../src/core/registry';
import { componentInsertion } from '../../src/core/language/insertComponent';

describe('Insert into config', () => {
  it('writes the type and required parameters with example values at the line indentation', () => {
    expect(componentInsertion(registries.optimizer.get('SGD')!, '  ')).toBe('  type: SGD\n  lr: 1');
    expect(componentInsertion(registries.backbone.get('ResNet')!, '    ')).toBe('    type: ResNet');
  });
});
