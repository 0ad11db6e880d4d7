// The 'wasm-threads' kernel's helper thread in Node: a worker_threads Worker running the
// kernel's worker program (src/kernels/wasm.ts) on the same module and shared memory. Installed
// as the platform's `startWasmWorker` hook by src/platform-node.ts. The worker is unref'd (it
// never keeps the process alive).
import { Worker } from 'node:worker_threads';
import type { WasmWorkerHandle, WasmWorkerInit } from '../platform.ts';

export function startNodeWasmWorker(init: WasmWorkerInit): WasmWorkerHandle {
  const source = `const { workerData } = require('node:worker_threads');\nconst { module, memory, ctl: ctlBuf, fns } = workerData;\n${init.body}`;
  const worker = new Worker(source, { eval: true, workerData: { module: init.module, memory: init.memory, ctl: init.ctl, fns: init.fns } });
  worker.unref();
  return {
    onError(listener) {
      worker.on('error', (err) => listener(err instanceof Error ? err.message : String(err)));
    },
    terminate() {
      void worker.terminate();
    },
  };
}
