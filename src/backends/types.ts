// The backend interface: where a simulation runs.
//
// A backend owns its buffers (opaque to the caller: host typed arrays for 'js', WebAssembly
// memory for 'wasm', GPU buffers or textures for GPU backends) and offers the whole simulation
// as one primitive, like jax.lax.scan: run T Euler steps of a dynamics over a movie from an
// initial state, record what was asked for (every state, or the last), and the vector-Jacobian
// product of that (the adjoint scan backwards through time, over the per-step values the
// forward kept where the backend keeps its buffers). The autodiff tape records one node per
// simulation (src/backends/scan-op.ts), not one per op per step, and the host reads results
// back once, at the end.
//
// Which dynamics a backend can run this way: a dynamics names its fused model
// (`NetworkDynamics.fused`, e.g. 'ppneuron': passive point neurons with graded synapses, whose
// formulas and reference implementation live in src/dynamics), and a backend registers an
// implementation per model kind (registerFusedModel). Dynamics without one, or with one the
// backend lacks, run through the generic path: the network composes the dynamics' own ops per
// step on the tape, using the backend's synapse kernel (`BackendInstance.synapseKernel`).
import type { Activation } from '../kernels/activation.ts';
import type { SynapseKernel } from '../kernels/synapse.ts';

export type HostArray = Float32Array | Float64Array;
export type HostDType = 'float32' | 'float64';

/**
 * An array a backend holds. Node-side backends can read synchronously; a backend whose buffers
 * live on a device that only reads back asynchronously (WebGPU) implements `readAsync` and
 * throws from `read` naming readAsync.
 */
export interface BackendArray {
  readonly shape: readonly number[];
  readonly dtype: HostDType;
  /** The values as a host typed array (no copy where the backend already holds one). */
  read(): HostArray;
  readAsync(): Promise<HostArray>;
}

/** A host typed array as a BackendArray (what the host-memory backends return). */
export function hostArray(data: HostArray, shape: readonly number[]): BackendArray {
  return {
    shape,
    dtype: data instanceof Float64Array ? 'float64' : 'float32',
    read: () => data,
    readAsync: () => Promise.resolve(data),
  };
}

/** What a backend needs to know about a network's graph, once per network. */
export interface BackendGraph {
  readonly nNodes: number;
  readonly source: Int32Array;
  readonly target: Int32Array;
  /**
   * Edge groups on which every edge parameter is constant (one synapse weight per group):
   * `index` per edge, `representative` (the first edge of each group) per group.
   */
  readonly groups?: { readonly index: Int32Array; readonly representative: Int32Array };
  /**
   * Where each node sits: cell type index and hexagonal lattice coordinates (u, v). Structured
   * backends use them to lay nodes out so that edges sharing a weight form long runs; optional.
   */
  readonly layout?: { readonly type: Int32Array; readonly u: ArrayLike<number>; readonly v: ArrayLike<number> };
  readonly activation: Activation;
}

export interface BackendOptions {
  /** Threads the backend may use (default 1). */
  readonly threads?: number;
  /** A synapse kernel name, for backends that run a choice of them (js: scatter, csr, runs, gpujs). */
  readonly kernel?: string;
  /**
   * Steps per call into a device-resident backend (wasm: default as many as 4 MB of per-step
   * buffers hold); smaller values bound its memory, and tests use it to cross chunk boundaries.
   */
  readonly chunkSteps?: number;
  /**
   * Bytes of device memory that recorded simulations may keep for their backward passes (wasm:
   * each step's d, default 256 MiB); what does not fit is kept on the host.
   */
  readonly residentBytes?: number;
}

/**
 * One simulation: T steps of a fused model for a batch of B samples of N nodes.
 * Arrays are batch-major host arrays: x is (B, T, N), v0 is (B, N); inputs are the model's
 * named inputs (for 'ppneuron': bias and rate per node, weight per edge group or per edge).
 */
export interface ScanRequest {
  readonly batch: number;
  readonly steps: number;
  readonly dtype: HostDType;
  readonly v0: HostArray;
  readonly x: HostArray;
  readonly inputs: Readonly<Record<string, HostArray>>;
  /** 'all': the state after every step, (B, T, N); 'last': the final state, (B, N). */
  readonly record: 'all' | 'last';
  /** Keep what the VJP needs (set only when a tape records: otherwise nothing is kept). */
  readonly save: boolean;
}

export interface ScanForward {
  /** (B, T, N) for record 'all', (B, N) for 'last'. */
  readonly output: BackendArray;
  /** Opaque: what backward needs; present when the request asked to save. */
  readonly saved?: unknown;
  /**
   * Whether every state of every step was finite, when the backend checked while it ran (the
   * caller then need not scan the output; undefined: the caller checks).
   */
  readonly finite?: boolean;
}

/** Which gradients backward must produce (others may be null). */
export interface ScanNeeds {
  readonly v0: boolean;
  readonly x: boolean;
  readonly inputs: Readonly<Record<string, boolean>>;
}

export interface ScanGradients {
  readonly v0: HostArray | null;
  readonly x: HostArray | null;
  readonly inputs: Readonly<Record<string, HostArray | null>>;
}

/**
 * A backend's implementation of one fused model, bound to one network's graph.
 *
 * Read-back: a simulator on host memory (or a device it can wait for) reads synchronously: its
 * output's `read()` works and `backward` returns the gradients. One on a device that reads back
 * only asynchronously (WebGPU) says `readBack: 'async'`: its output reads with `readAsync()`, its
 * VJP is `backwardAsync`, and `read()` and `backward` throw naming them. The asynchronous
 * primitive (`simulateScanAsync`) runs either kind; the synchronous one (`simulateScan`) only the
 * first.
 */
export interface FusedSimulator {
  /** The model kind ('ppneuron'). */
  readonly model: string;
  /** 'async': results read back only asynchronously (readAsync, backwardAsync); default 'sync'. */
  readonly readBack?: 'sync' | 'async';
  /** Whether this simulator runs arrays of this dtype and these inputs (e.g. per-group weights only). */
  supports(request: { dtype: HostDType; inputs: Readonly<Record<string, HostArray>> }): boolean;
  forward(request: ScanRequest): ScanForward;
  /**
   * The VJP of forward for the upstream gradient gOut (shaped like the output, host array):
   * the adjoint scan from the last step to the first.
   */
  backward(request: ScanRequest, forward: ScanForward, gOut: HostArray, needs: ScanNeeds): ScanGradients;
  /**
   * backward, read back asynchronously: required when readBack is 'async'; where present, the
   * asynchronous primitive's VJP uses it.
   */
  backwardAsync?(request: ScanRequest, forward: ScanForward, gOut: HostArray, needs: ScanNeeds): Promise<ScanGradients>;
}

/** A backend bound to one network's graph. */
export interface BackendInstance {
  /** The backend's name ('js', 'wasm'). */
  readonly backend: string;
  /** The graph it was created for. */
  readonly graph: BackendGraph;
  /** What runs the synapses here (a kernel name: 'runs', 'csr', 'wasm', 'wasm-threads', ...). */
  readonly kernelName: string;
  /** The backend's fused implementation of a model kind, or undefined (the generic path then). */
  fused(model: string): FusedSimulator | undefined;
  /** The synapse kernel the generic path composes the dynamics' ops with. */
  synapseKernel(options?: { grouped: boolean }): SynapseKernel;
  /** Releases worker threads and memory; the instance must not be used afterwards. */
  dispose(): void;
}

export interface Backend {
  readonly name: string;
  /** Whether the backend works here (probed once), and why not. */
  available(): { ok: true } | { ok: false; reason: string };
  /** Synapse kernel names this backend also answers to (e.g. 'js' runs 'scatter', 'csr', ...). */
  readonly kernels: readonly string[];
  create(graph: BackendGraph, options: BackendOptions): BackendInstance;
}

/** A fused model implementation for one backend: built per backend instance. */
export type FusedFactory = (instance: BackendInstance, graph: BackendGraph) => FusedSimulator;

export class BackendError extends Error {
  override name = 'BackendError';
}
