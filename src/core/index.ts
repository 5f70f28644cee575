/** The core: registry, schemas, config loading and validation. No TensorFlow.js, no vscode. */
export * from './kinds';
export * from './problems';
export * from './schema';
export * from './registry';
export * from './rootSchema';
export * from './suggest';
export * from './validate';
export * from './check';
export * from './defaults';
export * from './jsonSchema';
export * from './customImports';
export * from './config/load';
export * from './config/merge';
export * from './config/overrides';
export * from './config/yamlFile';
