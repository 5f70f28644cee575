/**
 * How many cores this process may keep busy. os.availableParallelism() counts the CPUs its affinity
 * allows (a cpuset, Slurm's binding), not a control group's CPU quota (a container's --cpus, a
 * Kubernetes limit), which the affinity does not show: there, threads sized to the machine's 64
 * cores share a quota of 2, each waiting out the others' slices. The engine's threads default to
 * this count, as Go's and Java's runtimes size theirs to the quota. Linux; elsewhere the affinity's.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { controlGroupOf, readText } from './controlGroup';

export interface CpuLimit {
  cores: number;
  /** The control group's quota in CPUs (1.5 = one and a half), where it is what bounds `cores`. */
  quota?: number;
}

/** CPUs a group's quota allows (v1's cfs_quota_us / cfs_period_us, v2's cpu.max), undefined when unlimited. */
function quotaIn(dir: string, v2: boolean): number | undefined {
  let quota: number;
  let period: number;
  if (v2) {
    const [q, p] = (readText(path.join(dir, 'cpu.max')) ?? '').trim().split(/\s+/);
    [quota, period] = [Number(q), Number(p)];
  } else {
    [quota, period] = [Number(readText(path.join(dir, 'cpu.cfs_quota_us'))), Number(readText(path.join(dir, 'cpu.cfs_period_us')))];
  }
  return quota > 0 && period > 0 ? quota / period : undefined;
}

/** The cores this process may use: the affinity's, or fewer where a CPU quota (its group's or an ancestor's) is lower. */
export function cpuLimit(): CpuLimit {
  const affinity = os.availableParallelism();
  const group = process.platform === 'linux' ? controlGroupOf('cpu') : undefined;
  let quota: number | undefined;
  for (let dir = group?.dir; group && dir && dir.startsWith(group.mount); dir = dir === group.mount ? undefined : path.dirname(dir)) {
    const q = quotaIn(dir, group.v2);
    if (q !== undefined) quota = Math.min(quota ?? q, q);
  }
  return quota !== undefined && Math.ceil(quota) < affinity ? { cores: Math.max(1, Math.ceil(quota)), quota } : { cores: affinity };
}
