// Lint rules: typescript-eslint's recommended set, plus the layer rules of ARCHITECTURE.md: only
// src/extension imports `vscode`; src/core imports no TensorFlow.js, onnxruntime or anything above
// it; src/models does not import src/train (test/core/layerRules.test.ts shows that each fires).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.e2e/**', 'test-results/**', 'work_dirs/**', 'out/**', 'tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'writable', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', performance: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // The editor's API only in the editor's code (tests of the extension host may use it too).
    files: ['src/**/*.ts', 'webview/**/*.ts', 'bin/**', 'scripts/**', 'bench/**'],
    ignores: ['src/extension/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Only src/extension may import vscode (ARCHITECTURE.md, layer rules).' }] }],
    },
  },
  {
    // Node's recursive mkdir never returns where a parent refuses entries (/proc, /sys): src/core/makeDirs.ts.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.property.name=/^mkdir(Sync)?$/] Property[key.name='recursive']", message: 'Use makeDirs (src/core/makeDirs.ts): a recursive mkdir hangs on /proc paths.' }],
    },
  },
  // The layers of ARCHITECTURE.md. typescript-eslint's rule (beside the core one above, so both
  // apply) can let type-only imports through where a layer only names another's interfaces.
  coreLayer(['src/core/*.ts'], '^\\.\\./'),
  coreLayer(['src/core/*/**/*.ts'], '^\\.\\./\\.\\./'),
  {
    files: ['src/models/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ regex: '^(\\.\\./)+train(/|$)', allowTypeImports: true, message: 'src/models must not import src/train (the trainer builds models, not the other way round); a type-only import of an interface is fine.' }],
      }],
    },
  },
);

/**
 * src/core (registry, schemas, configs, the config language) loads in the editor and in every tool:
 * no TensorFlow.js, no onnxruntime (no vscode: the rule above), and nothing from the layers above
 * it, which bring them (`leaving` is the relative path that leaves src/core from these files).
 */
function coreLayer(files, leaving) {
  return {
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['@tensorflow/*', 'onnxruntime*'], message: 'src/core must not import TensorFlow.js or onnxruntime: the editor loads it (ARCHITECTURE.md, layer rules).' },
          { regex: leaving, message: 'src/core imports nothing outside src/core: the layers above it bring TensorFlow.js and native packages (ARCHITECTURE.md, layer rules).' },
        ],
      }],
    },
  };
}
