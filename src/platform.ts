// What the platform-neutral core asks of its host. The core (network, autograd, dynamics,
// kernels, graph compilation, stimuli, analyses; `src/core.ts`) imports no Node module and reads
// no `process` or `Buffer`: where an API takes a file path (a connectome file name, a checkpoint
// or config path), writes a warning or a progress line, or needs the wasm kernel's bytes, it asks
// the hooks here. The Node entry point (`src/platform-node.ts`, installed by `src/node.ts`, the
// package root `flyvis-ts`, the CLI and every Node module that reads files) fills them with
// file-system, stderr, worker-thread and native-hash implementations. In a browser nothing fills
// them: file paths are refused with a message saying what to pass instead (parsed objects,
// bytes, `registerConnectomeDescription`), warnings and progress go to the console, digests use
// the pure SHA-256 (src/io/sha256.ts), and the wasm kernel is loaded with `loadWasmKernel`.
// docs/platform.md describes the split.

/** A running worker thread of the 'wasm-threads' kernel (see src/kernels/wasm.ts). */
export interface WasmWorkerHandle {
  /** Called once if the worker fails (with its message). */
  onError(listener: (message: string) => void): void;
  /** Ends the worker. */
  terminate(): void;
}

/** What the 'wasm-threads' kernel hands its helper thread. */
export interface WasmWorkerInit {
  /** The compiled module (a WebAssembly.Module). */
  readonly module: object;
  /** The shared WebAssembly.Memory both threads run on. */
  readonly memory: object;
  /** The control block (an Int32Array's SharedArrayBuffer); layout in src/kernels/wasm.ts. */
  readonly ctl: SharedArrayBuffer;
  /** The export names, indexed by the control block's function ids. */
  readonly fns: readonly string[];
  /** The worker's program (plain JavaScript run with `ctl`, `memory`, `module`, `fns` in scope; see wasm.ts). */
  readonly body: string;
}

/** An incremental hash (SHA-256), as node:crypto's Hash. */
export interface IncrementalHash {
  update(bytes: Uint8Array): void;
  /** Lower-case hex. */
  digest(): string;
}

/** A stream progress displays write to (process.stderr in Node). */
export interface TextStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface Platform {
  /** Its name in messages, e.g. 'node'. */
  readonly name: string;
  /**
   * The bytes of `file`, at most `maxBytes` of them; throws BoundedReadError (src/io/bounded.ts)
   * naming the problem. `what` names the kind of input in messages.
   */
  readFile?(file: string, maxBytes: number, what: string, limitHint: string): Uint8Array;
  /** Writes `data` to `file` atomically (a temporary file renamed over it). */
  writeFileAtomic?(file: string, data: string | Uint8Array): void;
  /**
   * The path of a connectome description named `file` (a path, a name in $FLYVIS_CONNECTOME_DIR or
   * the bundled data/ folder, or an alias such as 'demo'; `bundled`: only the bundled data/
   * folder), or, when there is none, the file as the error should name it (`shown`) and why
   * (`detail`, e.g. the folders searched).
   */
  findConnectomeFile?(file: string, bundled: boolean): { path: string } | { path: undefined; shown: string; detail: string };
  /** A warning (default: console.warn(`${type}: ${message}`)). */
  warn?(message: string, type: string): void;
  /** Where progress displays write by default (default: lines to console.error). */
  stderr?(): TextStream;
  /** A native SHA-256 (default: the pure one in src/io/sha256.ts). */
  sha256?(): IncrementalHash;
  /** The wasm kernel's module bytes (compiled ahead of use; src/kernels/wasm-build.ts in Node). */
  wasmBytes?(): Uint8Array;
  /** Starts the 'wasm-threads' kernel's helper thread (absent: 'wasm-threads' is unavailable). */
  startWasmWorker?(init: WasmWorkerInit): WasmWorkerHandle;
}

const hooks: { -readonly [K in keyof Platform]: Platform[K] } = { name: 'neutral' };
const listeners: (() => void)[] = [];

/** Installs hooks (merged over those already installed). Kernel availability is probed again. */
export function setPlatform(p: Partial<Platform>): void {
  Object.assign(hooks, p);
  platformChanged();
}

/** The hooks installed now. */
export function platform(): Readonly<Platform> {
  return hooks;
}

/** Calls `listener` after each setPlatform or platformChanged (caches of what the platform offers reset themselves). */
export function onPlatformChange(listener: () => void): void {
  listeners.push(listener);
}

/** Says that what the platform offers changed (e.g. the wasm kernel was loaded): listeners run. */
export function platformChanged(): void {
  for (const l of listeners) l();
}

/** Why an operation needs a hook that no one installed: what to import, or what to pass instead. */
export function missingHook(what: string, instead: string): string {
  return `${what} needs a file system, which this environment (${hooks.name}) does not provide: in Node import 'flyvis-ts' (its root installs the Node platform); elsewhere ${instead}`;
}

/** Emits a warning through the platform (Node: process.emitWarning(message, type)). */
export function emitWarning(message: string, type: string): void {
  if (hooks.warn) hooks.warn(message, type);
  else console.warn(`${type}: ${message}`);
}

/** The default stream of progress displays. */
export function stderrStream(): TextStream {
  return hooks.stderr ? hooks.stderr() : { write: (text: string) => console.error(text.replace(/\n$/, '')) };
}
