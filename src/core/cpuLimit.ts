/**
 * How many cores this process may keep busy. os.availableParallelism() counts the CPUs its affinity
 * allows (a cpuset, Slurm's binding), not a control group's CPU quota (a container's --cpus, a
 * Kubernetes limit), which the affinity does not show: there, threads sized to the machine's 64
 * cores share a quota of 2, each waiting out the others' slices. The engine's threads default to
 * this count, as Go's and Java's runtimes size theirs to the quota. Linux; elsewhere the affinity's.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface CpuLimit {
  cores: number;
  /** The control group's quota in CPUs (1.5 = one and a half), where it is what bounds `cores`. */
  quota?: number;
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPUs a group's quota allows (v1's cfs_quota_us / cfs_period_us, v2's cpu.max), undefined when unlimited. */
function quotaIn(dir: string, v2: boolean): number | undefined {
  let quota: number;
  let period: number;
  if (v2) {
    const [q, p] = (read(path.join(dir, 'cpu.max')) ?? '').trim().split(/\s+/);
    [quota, period] = [Number(q), Number(p)];
  } else {
    [quota, period] = [Number(read(path.join(dir, 'cpu.cfs_quota_us'))), Number(read(path.join(dir, 'cpu.cfs_period_us')))];
  }
  return quota > 0 && period > 0 ? quota / period : undefined;
}

/** Where this process's CPU controller is: its group's folder and the hierarchy's mount point. */
function cpuGroup(): { dir: string; mount: string; v2: boolean } | undefined {
  const groups = read('/proc/self/cgroup');
  const mounts = read('/proc/self/mountinfo');
  if (!groups || !mounts) return undefined;
  for (const line of mounts.split('\n')) {
    // id parent major:minor root mount-point options [optional fields] - type source super-options
    const [before, after] = line.split(' - ');
    if (!after) continue;
    const [, , , root, mount] = before.split(' ');
    const [type, , superOptions = ''] = after.split(' ');
    const v1 = type === 'cgroup' && superOptions.split(',').includes('cpu');
    const v2 = type === 'cgroup2' && (read(path.join(mount, 'cgroup.controllers')) ?? '').split(/\s+/).includes('cpu');
    if (!v1 && !v2) continue;
    const entry = groups.split('\n').find((g) => (v1 ? g.split(':')[1]?.split(',').includes('cpu') : g.startsWith('0::')));
    if (!entry) continue;
    const group = entry.slice(entry.indexOf(':', entry.indexOf(':') + 1) + 1);
    // In a cgroup namespace the mount's root is the group itself; outside, a prefix of it.
    const relative = root !== '/' && group.startsWith(root) ? group.slice(root.length) : group;
    return { dir: path.join(mount, relative), mount, v2 };
  }
  return undefined;
}

/** The cores this process may use: the affinity's, or fewer where a CPU quota (its group's or an ancestor's) is lower. */
export function cpuLimit(): CpuLimit {
  const affinity = os.availableParallelism();
  const group = process.platform === 'linux' ? cpuGroup() : undefined;
  let quota: number | undefined;
  for (let dir = group?.dir; group && dir && dir.startsWith(group.mount); dir = dir === group.mount ? undefined : path.dirname(dir)) {
    const q = quotaIn(dir, group.v2);
    if (q !== undefined) quota = Math.min(quota ?? q, q);
  }
  return quota !== undefined && Math.ceil(quota) < affinity ? { cores: Math.max(1, Math.ceil(quota)), quota } : { cores: affinity };
}
