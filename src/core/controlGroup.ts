/**
 * Where a process's control group is, for one controller: the folder whose files hold that group's
 * limits and counts. cgroup v1 has a hierarchy per controller, v2 one for all. Linux; plain Node
 * modules only (the launcher loads this before the library).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ControlGroupDir {
  /** The group's folder. */
  dir: string;
  /** The hierarchy's mount point: `dir` or a folder above it. */
  mount: string;
  v2: boolean;
}

/** A file's text, or undefined where it cannot be read (no such group, no permission, not Linux). */
export function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The group that holds process `pid` (this one by default) for `controller`, or undefined where none is mounted. */
export function controlGroupOf(controller: 'cpu' | 'memory', pid: number | 'self' = 'self'): ControlGroupDir | undefined {
  // The group's path is relative to the reader's cgroup namespace, as are the mounts it sees.
  const groups = readText(`/proc/${pid}/cgroup`);
  const mounts = readText('/proc/self/mountinfo');
  if (!groups || !mounts) return undefined;
  for (const line of mounts.split('\n')) {
    // id parent major:minor root mount-point options [optional fields] - type source super-options
    const [before, after] = line.split(' - ');
    if (!after) continue;
    const [, , , root, mount] = before.split(' ');
    const [type, , superOptions = ''] = after.split(' ');
    const v1 = type === 'cgroup' && superOptions.split(',').includes(controller);
    const v2 = type === 'cgroup2' && (readText(path.join(mount, 'cgroup.controllers')) ?? '').split(/\s+/).includes(controller);
    if (!v1 && !v2) continue;
    const entry = groups.split('\n').find((g) => (v1 ? g.split(':')[1]?.split(',').includes(controller) : g.startsWith('0::')));
    if (!entry) continue;
    const group = entry.slice(entry.indexOf(':', entry.indexOf(':') + 1) + 1);
    // In a cgroup namespace the mount's root is the group itself; outside, a prefix of it.
    const relative = root !== '/' && group.startsWith(root) ? group.slice(root.length) : group;
    return { dir: path.join(mount, relative), mount, v2 };
  }
  return undefined;
}
