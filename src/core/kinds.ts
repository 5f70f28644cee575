/** The kinds of registered components: one registry each. */

export const COMPONENT_KINDS = [
  'model',
  'backbone',
  'neck',
  'head',
  'loss',
  'source',
  'pipeline',
  'dataset',
  'hook',
  'optimizer',
  'lr_schedule',
  'evaluator',
  'predictor',
] as const;

export type ComponentKind = (typeof COMPONENT_KINDS)[number];

/** Words for messages and the catalogue: "a backbone", "backbones". */
export const KIND_NAMES: Record<ComponentKind, { one: string; many: string }> = {
  model: { one: 'model', many: 'models (algorithms)' },
  backbone: { one: 'backbone', many: 'backbones' },
  neck: { one: 'neck', many: 'necks' },
  head: { one: 'head', many: 'heads' },
  loss: { one: 'loss', many: 'losses' },
  source: { one: 'data source', many: 'data sources' },
  pipeline: { one: 'pipeline step', many: 'pipeline steps' },
  dataset: { one: 'dataset', many: 'datasets' },
  hook: { one: 'hook', many: 'hooks' },
  optimizer: { one: 'optimizer', many: 'optimizers' },
  lr_schedule: { one: 'LR schedule', many: 'LR schedules' },
  evaluator: { one: 'evaluator', many: 'evaluators' },
  predictor: { one: 'predictor', many: 'predictors' },
};

export function isComponentKind(s: string): s is ComponentKind {
  return (COMPONENT_KINDS as readonly string[]).includes(s);
}

/** "a backbone", "an optimizer", "an LR schedule". */
export function aKind(kind: ComponentKind): string {
  const word = KIND_NAMES[kind].one;
  return `${/^([aeiou]|LR)/i.test(word) ? 'an' : 'a'} ${word}`;
}
