/** What the PyTorch parity tests share: their measure, and how they run this folder's Python scripts. */
import { expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PYTHON } from '../data/python';

/** Largest difference relative to the largest reference value. */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}

/** Run `script` (in this folder) with Debian's python3: `run('make', dir)`; throws with its stderr. */
export function pythonScript(script: string): (...args: string[]) => void {
  return (...args) => {
    const r = spawnSync(PYTHON, [path.join(__dirname, script), ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${script} ${args[0]} failed: ${r.stderr}`);
  };
}
