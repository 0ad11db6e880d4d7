// Choosing a synapse kernel. Every kernel implements the same SynapseKernel interface and is
// tested against the reference 'scatter' kernel.
//
// kernel        what it is                                                        available
// scatter       reference: loops over edges in original order                     always
// csr           TypeScript, edges sorted by target (forward) / by source (gv)     always
// runs          TypeScript over runs of consecutive edges (structure.ts)          always
// wasm          runs in WebAssembly with f32x4 SIMD (assemblyscript-built)        WebAssembly SIMD + threads + assemblyscript
// wasm-threads  wasm, each step split over the main thread and one worker thread  same as wasm
// gpujs         gpu.js CSR gather-sum (gpu.js picks its backend)                  gpu.js runs a test kernel correctly
//
// 'auto' (the default) picks, in order: 'wasm-threads' when options.threads >= 2 was asked for
// and wasm works; 'wasm' when it works; otherwise 'runs' when the edges form runs (mean run
// length >= 4, as flyvis connectomes do), else 'csr'. gpujs is never picked automatically: on
// these machines its backend is WebAssembly/cpu and it is several times slower than 'wasm'.
// Measured numbers: docs/kernels.md.
import type { Activation } from './activation.ts';
import { csrSynapseKernel } from './csr.ts';
import { gpuJsAvailable, gpuJsSynapseKernel } from './gpujs.ts';
import { runsSynapseKernel } from './runs.ts';
import { buildRuns } from './structure.ts';
import { type EdgeIndex, KernelError, type SynapseKernel, scatterSynapseKernel } from './synapse.ts';
import { wasmAvailable, wasmSynapseKernel } from './wasm.ts';
import { onPlatformChange } from '../platform.ts';

export const KERNEL_NAMES = ['scatter', 'csr', 'runs', 'wasm', 'wasm-threads', 'gpujs'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

export interface SynapseKernelOptions {
  /** 'auto' (default) or a kernel name. */
  readonly kernel?: 'auto' | KernelName;
  /**
   * Per-edge weight group id (non-negative int32). The caller guarantees that the weights it
   * binds are equal within a group (bind checks it unless { checkGroups: false }). The runs
   * kernels then read one weight per group and offer backwardGroups. Other kernels ignore it.
   */
  readonly weightGroups?: Int32Array;
  /** Threads for 'auto' to use (1 or 2; default 1); 'wasm-threads' always uses 2. */
  readonly threads?: number;
}

export interface KernelInfo {
  readonly name: KernelName;
  readonly available: boolean;
  /** Why not, or which backend (gpujs). */
  readonly note?: string;
}

let availability: Map<KernelName, KernelInfo> | null = null;
onPlatformChange(() => (availability = null)); // e.g. the wasm module loaded in a browser

/** The kernels and whether each works on this machine (probed once per process, and after the platform changes). */
export function listKernels(): KernelInfo[] {
  if (!availability) {
    const gpu = gpuJsAvailable();
    const wasmInfo = (name: KernelName): KernelInfo => {
      const wasm = wasmAvailable(name === 'wasm-threads' ? 2 : 1);
      return wasm.ok ? { name, available: true } : { name, available: false, note: wasm.reason };
    };
    availability = new Map<KernelName, KernelInfo>([
      ['scatter', { name: 'scatter', available: true }],
      ['csr', { name: 'csr', available: true }],
      ['runs', { name: 'runs', available: true }],
      ['wasm', wasmInfo('wasm')],
      ['wasm-threads', wasmInfo('wasm-threads')],
      ['gpujs', gpu.ok ? { name: 'gpujs', available: true, note: `backend ${gpu.backend}` } : { name: 'gpujs', available: false, note: gpu.reason }],
    ]);
  }
  return KERNEL_NAMES.map((n) => availability!.get(n)!);
}

/** The name 'auto' resolves to for these edges and options. */
export function autoKernelName(edges: EdgeIndex, options: SynapseKernelOptions = {}): KernelName {
  const info = new Map(listKernels().map((k) => [k.name, k]));
  if (info.get('wasm')!.available) return (options.threads ?? 1) >= 2 && info.get('wasm-threads')!.available ? 'wasm-threads' : 'wasm';
  const E = edges.source.length;
  const runs = buildRuns(edges);
  return runs.count > 0 && E / runs.count >= 4 ? 'runs' : 'csr';
}

/** A synapse kernel: the one options.kernel names, or the best available ('auto'). */
export function createSynapseKernel(edges: EdgeIndex, activation: Activation, options: SynapseKernelOptions = {}): SynapseKernel {
  const requested = options.kernel ?? 'auto';
  if (requested !== 'auto' && !(KERNEL_NAMES as readonly string[]).includes(requested)) {
    throw new KernelError(`options.kernel: unknown kernel '${String(requested)}' (available: auto, ${KERNEL_NAMES.join(', ')})`);
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    throw new KernelError(`options.threads: expected a positive integer, got ${options.threads}`);
  }
  const name = requested === 'auto' ? autoKernelName(edges, options) : requested;
  const info = listKernels().find((k) => k.name === name)!;
  if (!info.available) throw new KernelError(`kernel '${name}' is not available here: ${info.note ?? 'unknown reason'}`);
  const groups = options.weightGroups ? { weightGroups: options.weightGroups } : {};
  switch (name) {
    case 'scatter':
      return scatterSynapseKernel(edges, activation);
    case 'csr':
      return csrSynapseKernel(edges, activation);
    case 'runs':
      return runsSynapseKernel(edges, activation, groups);
    case 'wasm':
      return wasmSynapseKernel(edges, activation, { ...groups, threads: 1 });
    case 'wasm-threads':
      return wasmSynapseKernel(edges, activation, { ...groups, threads: 2 });
    case 'gpujs':
      return gpuJsSynapseKernel(edges, activation);
  }
}
