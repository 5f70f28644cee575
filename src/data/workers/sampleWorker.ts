/**
 * A decoding worker thread: builds the views' pipelines once, then turns each task (a batch of
 * items) into a batch, transferring the pixel arrays back without copying.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { registeringCustom } from '../../core/registry';
import { BatchMaker } from './batchMaker';
import type { FromWorker, ToWorker, WorkerInit } from './protocol';

const port = parentPort!;
const init = workerData as WorkerInit;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

let maker: BatchMaker;
try {
  if (init.modules.length) {
    // Custom steps: the API installs the TypeScript hook and shares its modules; then load them.
    require('../../api');
    for (const file of init.modules) registeringCustom(() => require(file));
  }
  maker = new BatchMaker(init);
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'init-error', message: (err as Error).message });
}

port.on('message', (msg: ToWorker) => {
  if (msg.type !== 'task') return;
  maker.make(msg.epoch, msg.items).then(
    (res) => {
      const transfer = res.batch ? res.batch.views.map((v) => v.data.buffer as ArrayBuffer) : [];
      post({ type: 'result', id: msg.id, ...res }, transfer);
    },
    (err) => post({ type: 'result', id: msg.id, failures: [], fatal: `decoding worker failed: ${(err as Error).stack ?? err}` }),
  );
});
