// The Node entry point: importing it installs the Node platform (src/platform-node.ts: files,
// connectome lookup on disk, process.emitWarning, stderr, node:crypto, the wasm kernel's module
// from disk, worker threads, the environment's budget) and exports what only Node has beyond
// the folder barrels the package root re-exports: where connectome files are found.
// src/index.ts (the package root 'flyvis-ts') re-exports it; 'flyvis-ts/core' (src/core.ts) is
// the platform-neutral part alone.
import './platform-node.ts';

export { CONNECTOME_ALIASES, DEFAULT_CONNECTOME_FILE, connectomeDataDir, connectomeSearchDirs, findConnectomeFile } from './graph/paths.ts';
export { demoConnectomePath } from './graph/demo.ts';
