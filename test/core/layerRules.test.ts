// The layer rules of eslint.config.mjs (ARCHITECTURE.md) fire on a deliberate violation, and only there.
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: path.resolve(__dirname, '../..') });

/** The messages of the import rules for `code` as if it were the file `file`. */
async function importProblems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  return result.messages.filter((m) => /no-restricted-imports$/.test(m.ruleId ?? '')).map((m) => m.message);
}

describe('layer rules', () => {
  it('src/core imports no TensorFlow.js, onnxruntime, vscode, nor anything outside src/core', async () => {
    expect(await importProblems('src/core/x.ts', "import * as tf from '@tensorflow/tfjs-core';\nexport const t = tf;\n")).toEqual([expect.stringMatching(/src\/core must not import TensorFlow\.js/)]);
    expect(await importProblems('src/core/config/x.ts', "import * as ort from 'onnxruntime-node';\nexport const o = ort;\n")).toEqual([expect.stringMatching(/src\/core must not import TensorFlow\.js or onnxruntime/)]);
    expect(await importProblems('src/core/x.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n")).toEqual([expect.stringMatching(/Only src\/extension may import vscode/)]);
    expect(await importProblems('src/core/x.ts', "import { useBackend } from '../engine/engines';\nexport const u = useBackend;\n")).toEqual([expect.stringMatching(/imports nothing outside src\/core/)]);
    expect(await importProblems('src/core/language/x.ts', "import { build } from '../../models/nn';\nexport const b = build;\n")).toEqual([expect.stringMatching(/imports nothing outside src\/core/)]);
    // Within src/core, at any depth, is fine.
    expect(await importProblems('src/core/language/x.ts', "import { register } from '../registry';\nimport { load } from '../config/load';\nexport const r = [register, load];\n")).toEqual([]);
  });

  it('src/models does not import src/train, except an interface as a type', async () => {
    expect(await importProblems('src/models/heads/x.ts', "import { Runner } from '../../train/runner';\nexport const r = Runner;\n")).toEqual([expect.stringMatching(/src\/models must not import src\/train/)]);
    expect(await importProblems('src/models/heads/x.ts', "import type { Hook } from '../../train/hook';\nexport type H = Hook;\n")).toEqual([]);
    expect(await importProblems('src/train/x.ts', "import { build } from '../models/nn';\nexport const b = build;\n")).toEqual([]);
  });

  it('vscode only in src/extension', async () => {
    const code = "import * as vscode from 'vscode';\nexport const v = vscode;\n";
    for (const file of ['src/runs/x.ts', 'src/train/x.ts', 'webview/src/x.ts', 'scripts/x.mjs']) {
      expect(await importProblems(file, code), file).toEqual([expect.stringMatching(/Only src\/extension may import vscode/)]);
    }
    expect(await importProblems('src/extension/x.ts', code)).toEqual([]);
  });
});

describe('mkdir rule', () => {
  it('refuses a recursive mkdir in src (it hangs on /proc paths), sync or promise', async () => {
    const problems = async (code: string) => {
      const [result] = await eslint.lintText(code, { filePath: 'src/runs/x.ts' });
      return result.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
    };
    expect(await problems("import * as fs from 'node:fs';\nfs.mkdirSync('a', { recursive: true });\n")).toEqual([expect.stringMatching(/Use makeDirs/)]);
    expect(await problems("import * as fs from 'node:fs';\nvoid fs.promises.mkdir('a', { recursive: true });\n")).toEqual([expect.stringMatching(/Use makeDirs/)]);
    expect(await problems("import * as fs from 'node:fs';\nfs.mkdirSync('a');\nfs.rmSync('a', { recursive: true });\n")).toEqual([]);
  });
});
