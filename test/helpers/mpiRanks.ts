import * as fs from 'node:fs';

/** The pid of the cvw process that is MPI rank `rank` of the run writing `dir` (found by its mpirun-given rank variable). */
export function findRank(rank: number, dir: string): number | undefined {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(dir) || !cmd.includes('cvw.js')) continue;
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(pid);
    } catch {
      // gone, or not ours
    }
  }
  return undefined;
}
