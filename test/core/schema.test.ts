import { describe, expect, it } from 'vitest';
import '../../src/builtins';
import { generateJsonSchema } from '../../src/core/jsonSchema';
import { closestNames, didYouMean, editDistance } from '../../src/core/suggest';
import { registries } from '../../src/core/registry';

describe('JSON Schema generated from the registry', () => {
  const schema = generateJsonSchema() as Record<string, any>;

  it('has a definition per component with its type constant, parameters, defaults and descriptions', () => {
    const resnet = schema.$defs['backbone.ResNet'];
    expect(resnet.properties.type).toEqual({ const: 'ResNet', description: expect.stringContaining('Residual') });
    expect(resnet.properties.depth).toMatchObject({ enum: [18, 34, 50, 101, 152], default: 18, description: expect.any(String) });
    expect(resnet.properties.stem).toMatchObject({ enum: ['imagenet', 'cifar'], default: 'imagenet' });
    expect(resnet.additionalProperties).toBe(false);
    expect(resnet.required).toEqual(['type']);
    expect(schema.$defs['optimizer.SGD'].required).toEqual(['type', 'lr']);
  });

  it('links each slot to the names of its kind only', () => {
    expect(schema.$defs.backbone.properties.type.enum).toEqual(registries.backbone.names());
    expect(schema.$defs.backbone.properties.type.enum).not.toContain('ClsHead');
    const cls = schema.$defs['model.Classification'];
    expect(cls.properties.backbone.$ref).toBe('#/$defs/backbone');
    expect(cls.properties.head.$ref).toBe('#/$defs/head');
    expect(schema.properties.model.$ref).toBe('#/$defs/model');
    expect(schema.properties.hooks.items.$ref).toBe('#/$defs/hook');
    expect(schema.additionalProperties).toBe(false);
  });
});

describe('suggestions', () => {
  it('ranks by edit distance with transpositions, case-insensitively', () => {
    expect(editDistance('ResNte', 'ResNet')).toBe(1);
    expect(closestNames('resnet', ['ResNet', 'RegNet', 'ViT'])).toEqual(['ResNet', 'RegNet']);
    expect(closestNames('Vision', ['VisionTransformer', 'ResNet'])).toEqual(['VisionTransformer']);
    expect(closestNames('zzz', ['ResNet'])).toEqual([]);
    expect(didYouMean(['A', 'B', 'C'])).toBe(' — did you mean "A", "B" or "C"?');
  });
});
