import * as os from 'node:os';
import { BACKENDS, DEVICES, MAX_THREADS, type EngineConfig } from '../../engine/configSection';
import { initEngine, type EngineReport } from '../../engine';
import { defaultEnvironment } from '../../engine/engines';
import { resolvePackage } from '../../engine/optionalPackages';
import { probeWebgpu, webgpuInstallHint } from '../../engine/webgpu';
import type { CommandSpec } from '../args';
import { buildBinding, mpiAvailability, type MpiAvailability } from '../../distributed/binding';
import { mallocNote } from '../../core/mallocTunables';
import { describeMemoryLimit, memoryLimit } from '../../core/memoryLimit';
import { cpuLimit, type CpuLimit } from '../../core/cpuLimit';
import { buildOnednn, onednnAvailability } from '../../engine/onednn';
import { RELAUNCHED_COMMANDS } from '../relaunch';

export const envCommand: CommandSpec = {
  name: 'env',
  summary: 'Show the training engines this machine has, the one `auto` picks and why, versions and threads',
  options: [
    { name: 'backend', type: 'string', description: 'Check this engine.backend instead of auto', default: 'auto', choices: BACKENDS },
    { name: 'device', type: 'string', description: 'engine.device to check', default: 'auto', choices: DEVICES },
    { name: 'threads', type: 'number', description: 'engine.threads (0 = one per core)', default: 0, range: { integer: true, min: 0, max: MAX_THREADS } },
    { name: 'json', type: 'boolean', description: 'Print the report as JSON' },
    { name: 'build-mpi', type: 'boolean', description: 'Build the MPI binding for data-parallel training now (it is otherwise built on the first distributed run)' },
    { name: 'build-onednn', type: 'boolean', description: "Build the oneDNN addon that runs wasm-ort's convolutions (needs libdnnl-dev and a C++ compiler)" },
  ],
  details: 'Exit status: 0 when the requested engine starts, 1 otherwise (the message says how to install what is missing).',
  async run(args) {
    const backend = args.options.backend as EngineConfig['backend'];
    const device = args.options.device as EngineConfig['device'];
    const threads = args.options.threads as number;
    if (args.options['build-mpi']) buildBinding((m) => process.stderr.write(`cvw: ${m}\n`));
    if (args.options['build-onednn']) buildOnednn((m) => process.stderr.write(`cvw: ${m}\n`));
    // Software adapters too: auto never picks one, but the report says it is there.
    const environment = { ...defaultEnvironment, probeWebgpu: () => probeWebgpu(resolvePackage, 'all') };
    const report = await initEngine({ backend, device, threads }, environment);
    const mpi = mpiAvailability();
    const onednn = onednnAvailability();
    const malloc = mallocNote(RELAUNCHED_COMMANDS);
    const memory = memoryLimit();
    process.stdout.write(
      args.options.json
        ? JSON.stringify({ ...report, distributed: mpi, onednn, malloc, memory }, null, 2) + '\n'
        : formatReport(report) + `oneDNN:      ${onednn.available ? '+' : '-'} ${onednn.note}\n` + formatDistributed(mpi) + `malloc:      ${malloc}\n` + `memory:      ${describeMemoryLimit(memory)}\n`,
    );
    return 0;
  },
};

export function formatReport(r: EngineReport): string {
  const lines = [
    r.summary,
    '',
    `engine:   ${r.engine} (tfjs backend "${r.backend}", ${r.device.toUpperCase()})`,
    `reason:   ${r.reason}`,
    `threads:  ${r.threads} (${formatCores(cpuLimit())})`,
    'versions:',
    ...Object.entries(r.versions).map(([name, v]) => `  ${name.padEnd(30)} ${v}`),
    'engines (fastest first):',
    ...r.available.map((a) => `  ${a.engine === r.engine ? '*' : a.available ? '+' : '-'} ${a.engine.padEnd(14)} ${a.note}`),
    '  (* in use, + available, - not available)',
  ];
  const webgpu = r.available.find((a) => a.engine === 'webgpu');
  if (webgpu && !webgpu.available && /not installed|does not match/.test(webgpu.note)) lines.push(`GPU training from npm alone: ${webgpuInstallHint()}`);
  return lines.join('\n') + '\n';
}

/** The cores the default thread count is, and where a CPU quota caps them (core/cpuLimit.ts). */
function formatCores(c: CpuLimit): string {
  const machine = `machine: ${os.availableParallelism()} cores`;
  return c.quota === undefined ? machine : `${machine}; its control group's CPU quota of ${+c.quota.toFixed(2)} allows ${c.cores}`;
}

/** Whether data-parallel training (MPI) is available here, and how to get it. */
export function formatDistributed(m: MpiAvailability): string {
  return `distributed: ${m.available ? '+' : '-'} ${m.note}\n`;
}
