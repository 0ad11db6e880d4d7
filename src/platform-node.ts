// The Node platform: installs, on import, the hooks the platform-neutral core asks of its host
// (src/platform.ts): files (bounded reads, atomic writes), connectome file lookup (the working
// directory, $FLYVIS_CONNECTOME_DIR, data/), warnings through process.emitWarning, progress on
// process.stderr, node:crypto's SHA-256, the wasm kernel's prebuilt module from disk, the
// 'wasm-threads' kernel's worker thread, and the environment's input budget
// (FLYVIS_MAX_MEMORY_GB / FLYVIS_MAX_STEPS, src/budget-env.ts). Imported by the package root
// (src/index.ts via src/node.ts), the CLI, the test setup, and src/io/read-bounded.ts (so every
// Node module that reads files has it, e.g. the ensemble worker threads).
import { createHash } from 'node:crypto';
import './budget-env.ts';
import { findConnectomeFor } from './graph/paths.ts';
import { writeFileAtomic } from './io/atomic.ts';
import { readFileBounded } from './io/read-bounded.ts';
import { nodeWasmBytes } from './kernels/wasm-build.ts';
import { startNodeWasmWorker } from './kernels/wasm-worker-node.ts';
import { setPlatform } from './platform.ts';

setPlatform({
  name: 'node',
  readFile: (file, maxBytes, what, limitHint) => readFileBounded(file, maxBytes, what, limitHint),
  writeFileAtomic: (file, data) => writeFileAtomic(file, data),
  findConnectomeFile: findConnectomeFor,
  warn: (message, type) => process.emitWarning(message, type),
  stderr: () => process.stderr,
  sha256: () => {
    const hash = createHash('sha256');
    return {
      update: (bytes) => void hash.update(bytes),
      digest: () => hash.digest('hex'),
    };
  },
  wasmBytes: nodeWasmBytes,
  startWasmWorker: startNodeWasmWorker,
});
