// Processes the harness starts, and how it makes sure none outlives it.
//
// Every process gets an environment tag (CVW_E2E_SESSION, and CVW_E2E_RUN for the whole test run).
// Children inherit their parent's environment, so the tag reaches everything code-server and
// Chromium start — extension hosts, file watchers, terminals that call setsid(), `cvw train`
// children started "detached" — even those that leave the process group. Stopping kills the
// process group politely first, then anything still carrying the tag.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const SESSION_TAG = 'CVW_E2E_SESSION';
export const RUN_TAG = 'CVW_E2E_RUN';
/**
 * The current run's id, for the test processes themselves: a different name than RUN_TAG, so that
 * killing the run's leftovers never hits the test runner and its workers.
 */
export const RUN_ID_ENV = 'CVW_E2E_RUN_ID';

/** Pids of live processes whose environment holds `name=value` (read from /proc, Linux only). */
export function taggedPids(name, value) {
  const needle = Buffer.from(`\0${name}=${value}\0`);
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ;
    try {
      environ = readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue; // gone already, or not ours to read
    }
    // Prefix with NUL so the first variable matches too.
    if (Buffer.concat([Buffer.from([0]), environ]).includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

/** SIGKILL every process carrying the tag; returns how many there were. Synchronous (usable in 'exit'). */
export function killTagged(name, value) {
  const pids = taggedPids(name, value);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids.length;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Start `command` in a process group of its own, output appended to `log` (a function), with the
 * session tag in its environment.
 */
export function spawnGroup(command, args, { env, cwd, log }) {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => log(d.toString()));
  child.stderr.on('data', (d) => log(d.toString()));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.on('error', (err) => log(`spawn error: ${err.message}\n`));
  return { child, exited };
}

/**
 * SIGTERM the group, wait up to `graceMs`, then SIGKILL the group and every tagged straggler, until
 * a few looks in a row find none (at most max(graceMs, 2 s)).
 */
export async function stopGroup(child, exited, tag, graceMs = 3000) {
  const pgid = child.pid;
  if (pgid && alive(pgid)) {
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      // group already gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // group already gone
    }
  }
  if (tag) {
    // Descendants that moved to a group or session of their own (setsid) but kept the environment.
    // One look that finds none is not enough: a process in the middle of execve() shows an empty
    // environment for a moment (the new image's is not set up yet), and a process forked after
    // /proc was listed is not in the listing. Only QUIET_LOOKS tag-free looks in a row count.
    const QUIET_LOOKS = 3;
    const deadline = Date.now() + Math.max(graceMs, 2000);
    let quiet = 0;
    while (quiet < QUIET_LOOKS && Date.now() < deadline) {
      quiet = killTagged(SESSION_TAG, tag) > 0 ? 0 : quiet + 1;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
