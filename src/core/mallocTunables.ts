/**
 * glibc's malloc settings for engine work.
 *
 * With glibc's defaults, a tensor-sized block (MBs) freed by onnxruntime or V8 goes back to the
 * system (munmap, or a trim of the heap top), and the next allocation of that size takes a page
 * fault on every 4 KiB page as it is first written. On a virtual machine a fault costs
 * microseconds: a 16 MB convolution output cost 4,096 faults and 60 ms where the convolution
 * itself takes 17 ms (BENCHMARKS.md, "glibc malloc"). Keeping freed memory in the process (a trim
 * threshold of 1 GiB, blocks up to 32 MiB, the most glibc allows, from the heap instead of their
 * own mappings) removes the faults. glibc reads these settings once, when a process starts
 * (GLIBC_TUNABLES): `cvw` relaunches its engine-heavy commands with them (cli/relaunch.ts); the runs
 * the editor starts and the ranks of a Slurm job get them in their environment from the start.
 */

/** The glibc tunables set (name=value), unless the environment already sets that name. */
export const MALLOC_TUNABLES: readonly string[] = ['glibc.malloc.trim_threshold=1073741824', 'glibc.malloc.mmap_threshold=33554432', 'glibc.malloc.top_pad=67108864'];

/** GLIBC_TUNABLES holding just MALLOC_TUNABLES. */
export const MALLOC_TUNABLES_VALUE = MALLOC_TUNABLES.join(':');

const nameOf = (tunable: string) => tunable.split('=')[0];

function tunableNames(value: string | undefined): Set<string> {
  return new Set((value ?? '').split(':').map(nameOf).filter(Boolean));
}

/** `env` with MALLOC_TUNABLES added to GLIBC_TUNABLES (names it sets already are kept as they are). */
export function withMallocTunables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const have = tunableNames(env.GLIBC_TUNABLES);
  const add = MALLOC_TUNABLES.filter((t) => !have.has(nameOf(t)));
  if (add.length === 0) return env;
  return { ...env, GLIBC_TUNABLES: [env.GLIBC_TUNABLES, ...add].filter(Boolean).join(':') };
}

/** True when every one of MALLOC_TUNABLES' names is set in `env` (to these values or the user's). */
export function mallocTunablesSet(env: NodeJS.ProcessEnv = process.env): boolean {
  const have = tunableNames(env.GLIBC_TUNABLES);
  return MALLOC_TUNABLES.every((t) => have.has(nameOf(t)));
}

/** True on Linux with glibc (the only C library that reads GLIBC_TUNABLES). */
export function usesGlibc(): boolean {
  if (process.platform !== 'linux') return false;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return typeof header?.glibcVersionRuntime === 'string';
}

/** What `cvw env` says of the allocator: whether the tunables apply here, are set, and how to set them. */
export function mallocNote(relaunched: Iterable<string>, env: NodeJS.ProcessEnv = process.env, glibc = usesGlibc()): string {
  if (!glibc) return 'not glibc: nothing to tune';
  if (mallocTunablesSet(env)) return `glibc, freed tensor memory kept (GLIBC_TUNABLES=${env.GLIBC_TUNABLES})`;
  return `glibc defaults in this process; cvw ${[...relaunched].join(', ')} run under GLIBC_TUNABLES=${MALLOC_TUNABLES_VALUE} (the Node API: set it before starting node)`;
}
