import { afterAll, describe, expect, it } from 'vitest';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpuLimit } from '../../src/core/cpuLimit';
import { ControlGroups, runToEnd, type ControlGroup } from '../helpers/controlGroup';

// The engine's threads default to the cores this process may keep busy: where a control group's
// CPU quota (a container's --cpus, a Kubernetes limit) is below the CPUs its affinity allows, the
// quota's, rounded up. Before, a container given 2 CPUs on a 64-core host ran 64 native threads.
const root = path.resolve(__dirname, '../..');
const cvw = path.join(root, 'bin', 'cvw.js');
const groups = new ControlGroups();
afterAll(() => groups.removeAll());

const env = (g: ControlGroup, ...args: string[]) => runToEnd(...g.wrap(process.execPath, [cvw, 'env', '--backend', 'wasm-ort', ...args]));

describe('the cores a process may use', () => {
  it('are the affinity’s outside a group with a lower quota', () => {
    const limit = cpuLimit();
    expect(limit.cores).toBeGreaterThanOrEqual(1);
    expect(limit.cores).toBeLessThanOrEqual(os.availableParallelism());
    if (limit.quota === undefined) expect(limit.cores).toBe(os.availableParallelism());
  });

  const quotaGroup = groups.make({ cpus: 0.5 });
  it.runIf(quotaGroup && os.availableParallelism() > 1)('are a CPU quota’s, rounded up, also under a parent’s quota: the engine’s threads and cvw env say so', async () => {
    const half = await env(quotaGroup!, '--json');
    expect(half.code, half.err).toBe(0);
    expect(JSON.parse(half.out).threads).toBe(1);
    const text = await env(quotaGroup!);
    expect(text.out).toContain(`threads:  1 (machine: ${os.availableParallelism()} cores; its control group's CPU quota of 0.5 allows 1)`);
    expect(text.out).toMatch(/^wasm-ort on CPU: .*; 1 thread for the native kernels, 1 for wasm\)/);
    // A group with no quota of its own inside one with a quota: the parent's bounds it.
    const inner = groups.make({ cpus: Infinity }, 0);
    expect(inner).toBeDefined();
    expect(JSON.parse((await env(inner!, '--json')).out).threads).toBe(1);
    // A quota of the affinity's cores or more changes nothing.
    const wide = groups.make({ cpus: os.availableParallelism() });
    expect(JSON.parse((await env(wide!, '--json')).out).threads).toBe(os.availableParallelism());
  });
});
