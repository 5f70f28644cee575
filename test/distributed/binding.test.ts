import { describe, expect, it } from 'vitest';
import { mpiAvailability } from '../../src/distributed/binding';
import { deadRankMessage } from '../../src/distributed/launch';
import { launcherWorldSize } from '../../src/distributed/world';
import { formatDistributed } from '../../src/cli/commands/env';

describe('MPI availability (cvw env)', () => {
  it('here: MPI installed, and the binding either built or built on the first distributed run', () => {
    const m = mpiAvailability('/nonexistent/cvw_mpi.node');
    if (!m.mpiInstalled) return; // machines without Open MPI: the next test covers them
    expect(m.note).toMatch(/MPI found, binding not built yet: it is built on the first distributed run, or now with `cvw env --build-mpi`/);
  });

  it('without MPI on PATH: not available, and says how to install it', () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const m = mpiAvailability('/nonexistent/cvw_mpi.node');
      expect(m.available).toBe(false);
      expect(m.mpiInstalled).toBe(false);
      expect(formatDistributed(m)).toMatch(/^distributed: - no MPI found \(mpirun missing\): apt-get install openmpi-bin libopenmpi-dev/);
      expect(m.note).toMatch(/single-process training does not need it/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('launcherWorldSize', () => {
  it.each([
    [{}, 1],
    [{ OMPI_COMM_WORLD_SIZE: '4' }, 4],
    [{ OMPI_COMM_WORLD_SIZE: '1' }, 1],
    [{ PMIX_RANK: '0', SLURM_NTASKS: '2' }, 2],
    [{ OMPI_COMM_WORLD_SIZE: '4', CVW_DISTRIBUTED: '0' }, 1],
  ])('%j -> %i', (env, size) => expect(launcherWorldSize(env as NodeJS.ProcessEnv)).toBe(size));
});

describe("mpirun's message about a dead rank", () => {
  it('names the rank, host and signal', () => {
    const out = 'mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).';
    expect(deadRankMessage(out)).toBe('rank 1 (vm) died (signal 9, Killed)');
    expect(deadRankMessage('MPI_ABORT was invoked on rank 3 in communicator MPI_COMM_WORLD')).toMatch(/^rank 3 ended the job/);
    expect(deadRankMessage('nothing to see')).toBeUndefined();
  });
});
