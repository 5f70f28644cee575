// Layer (a) for Submit to Slurm (extension-host/slurm): a real one-node Slurm cluster
// (scripts/slurm-local.sh, as root, Debian's slurm-wlm and munge) and the installed extension.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runExtensionHostTests } from './harness.mjs';
import { runsWorkspace } from './runsWorkspace.mjs';
import { REPO_ROOT } from './lib/paths.mjs';

const missing = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'mpirun'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
const skip = missing.length > 0 || process.getuid?.() !== 0;

test.skipIf(skip)('extension-host suite: Submit to Slurm', async () => {
  const cluster = mkdtempSync(join(tmpdir(), 'cvw-e2e-slurm-'));
  const script = join(REPO_ROOT, 'scripts', 'slurm-local.sh');
  const slurmConf = execFileSync('bash', [script, 'start', cluster], { encoding: 'utf8' }).trim();
  try {
    const { exitCode, results, resultsDir } = await runExtensionHostTests({
      name: 'extension-host-slurm',
      suite: 'test/e2e/extension-host/slurm/index.js',
      workspace: runsWorkspace(),
      env: { SLURM_CONF: slurmConf },
      // The ranks' Node builds the MPI binding against its own headers: this machine's Node has them.
      settings: { 'cvWorkbench.runs.nodePath': process.execPath },
      timeoutMs: 420_000,
    });
    const failures = results.filter((r) => !r.ok).map((r) => `${r.name}\n${r.error}`);
    expect(failures, `extension-host failures (logs in ${resultsDir})`).toEqual([]);
    expect(results.length, `tests that ran (logs in ${resultsDir})`).toBe(2);
    expect(exitCode).toBe(0);
  } finally {
    spawnSync('bash', [script, 'stop', cluster]);
    rmSync(cluster, { recursive: true, force: true });
  }
}, 480_000);
