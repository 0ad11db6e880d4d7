// The 'gpujs' kernel: the target sum as a gpu.js kernel (one thread per output: a CSR
// gather-sum over the node's incoming edges) and its adjoint (gv: the same gather over a CSR by
// source; gw: one thread per edge). gpu.js picks its backend: in Node without a GL context that
// is its WebAssembly backend (f32x4), falling back to its cpu backend. The activation and the
// final act'(v) scaling stay in TypeScript. Loop counters start from an array value, so they
// step with `p += 1` (a gpu.js bug turns `p++` into uncompilable WGSL; see shared/notes/gpu-js.md).
// In a browser bundle gpu.js resolves to its browser build and picks WebGL2 (or WebGPU, WebGL).
// Safe from minifiers: gpu.js compiles a kernel's source text, so the kernels are given as
// strings (a minifier renames a function's variables and breaks the translation), and the
// backend is named by comparing with gpu.js's exported classes, not by `constructor.name`.
import * as gpujs from 'gpu.js';
import { GPU, type IGPUKernelSettings, type IKernelRunShortcut } from 'gpu.js';
import type { Activation } from './activation.ts';
import { applyActivation } from './activation.ts';
import { Scratch, checkBackward, checkForward, finishGv } from './common.ts';
import { buildCsr } from './structure.ts';
import { type BoundSynapses, type EdgeIndex, KernelError, type SynapseKernel, checkLength, validateEdgeIndex } from './synapse.ts';

type GpuMode = 'gpu' | 'cpu' | 'webasm' | 'headlessgl' | 'webgl' | 'webgl2';

export interface GpuJsKernelOptions {
  /** gpu.js mode; default: gpu.js's own choice ('gpu' = best available backend). */
  readonly mode?: GpuMode;
}

// The kernels, as the source text gpu.js parses (plain JavaScript; `this` is gpu.js's kernel
// context). gather: out[b * N + n] = sum over p in [ptr[n], ptr[n + 1]) of w[p] * x[b * N + col[p]].
const GATHER_KERNEL = `function gatherKernel(x, w, col, ptr) {
  const i = this.thread.x;
  const b = Math.floor(i / this.constants.N);
  const n = i - b * this.constants.N;
  const end = ptr[n + 1];
  let s = 0;
  for (let p = ptr[n]; p < end; p += 1) {
    s += w[p] * x[b * this.constants.N + col[p]];
  }
  return s;
}`;

// edge: out[e] = sum over b of a[b * N + src[e]] * g[b * N + tgt[e]].
const EDGE_KERNEL = `function edgeKernel(a, g, src, tgt) {
  const e = this.thread.x;
  const s = src[e];
  const t = tgt[e];
  let sum = 0;
  for (let b = 0; b < this.constants.B; b += 1) {
    sum += a[b * this.constants.N + s] * g[b * this.constants.N + t];
  }
  return sum;
}`;

/**
 * gpu.js translates loops into bounded ones (`for (int i = 0; i < LOOP_MAX; i++)` in GLSL and
 * WGSL) with LOOP_MAX = 1000 unless told: the gather's loop runs the largest in-degree (or
 * out-degree) times, so the kernels are created with at least that bound.
 */
function maxDegree(ptr: Int32Array): number {
  let max = 0;
  for (let n = 0; n + 1 < ptr.length; n++) max = Math.max(max, ptr[n + 1]! - ptr[n]!);
  return max;
}

/** Kernel settings with gpu.js's loopMaxIterations (a setting its type declarations omit). */
const withLoopMax = (settings: IGPUKernelSettings, loopMaxIterations: number): IGPUKernelSettings =>
  ({ ...settings, loopMaxIterations }) as IGPUKernelSettings;

type Kernel = IKernelRunShortcut;

// gpu.js's backend classes by name, most specific first (WebGL2Kernel and HeadlessGLKernel
// extend WebGLKernel). WebGPUKernel is in gpu.js's exports but not its type declarations.
const BACKENDS: readonly string[] = ['WebGPUKernel', 'WebGL2Kernel', 'HeadlessGLKernel', 'WebGLKernel', 'WebAssemblyKernel', 'CPUKernel'];

/** The backend gpu.js actually ran a kernel on (e.g. 'WebGL2Kernel', 'WebAssemblyKernel', 'CPUKernel'). */
export function backendOf(k: Kernel): string {
  const inner = (k as unknown as { kernel?: object }).kernel;
  if (inner === undefined) return 'unknown';
  const classes = gpujs as unknown as Record<string, unknown>;
  for (const name of BACKENDS) {
    const cls = classes[name];
    if (typeof cls === 'function' && inner instanceof (cls as new () => object)) return name;
  }
  return 'unknown';
}

export function gpuJsAvailable(): { ok: true; backend: string } | { ok: false; reason: string } {
  let gpu: GPU | null = null;
  try {
    gpu = new GPU();
    const k = gpu.createKernel(GATHER_KERNEL, { output: [2], constants: { N: 2 } });
    const r = k(Float32Array.of(1, 2), Float32Array.of(3), Int32Array.of(1), Int32Array.of(0, 1, 1)) as Float32Array;
    if (r[0] !== 6 || r[1] !== 0) return { ok: false, reason: `gpu.js gave a wrong answer (${Array.from(r).join(', ')})` };
    return { ok: true, backend: backendOf(k) };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  } finally {
    gpu?.destroy();
  }
}

export function gpuJsSynapseKernel(edges: EdgeIndex, activation: Activation, options: GpuJsKernelOptions = {}): SynapseKernel & { backend(): string } {
  validateEdgeIndex(edges);
  const { nNodes: N, source, target } = edges;
  const E = source.length;
  const byTarget = buildCsr(N, target, source);
  const bySource = buildCsr(N, source, target);
  const loopMax = Math.max(1000, maxDegree(byTarget.ptr), maxDegree(bySource.ptr));
  const gpu = new GPU(options.mode ? { mode: options.mode } : {});
  const scratch = new Scratch();
  const gathers = new Map<number, Kernel>();
  const perEdge = new Map<number, Kernel>();
  let lastBackend = 'not run yet';
  let disposed = false;
  const gather = (B: number): Kernel => {
    let k = gathers.get(B);
    if (!k) {
      k = gpu.createKernel(GATHER_KERNEL, withLoopMax({ output: [Math.max(1, B * N)], constants: { N } }, loopMax));
      gathers.set(B, k);
    }
    return k;
  };
  const edgeK = (B: number): Kernel => {
    let k = perEdge.get(B);
    if (!k) {
      k = gpu.createKernel(EDGE_KERNEL, withLoopMax({ output: [Math.max(1, E)], constants: { N, B } }, Math.max(1000, B)));
      perEdge.set(B, k);
    }
    return k;
  };
  const run = (k: Kernel, ...args: (Float32Array | Int32Array)[]): Float32Array => {
    if (disposed) throw new KernelError('gpujs kernel: used after dispose()');
    const r = k(...args) as unknown;
    lastBackend = backendOf(k);
    if (!(r instanceof Float32Array)) throw new KernelError(`gpujs kernel: expected a Float32Array result from gpu.js, got ${Object.prototype.toString.call(r)}`);
    return r;
  };
  return {
    name: 'gpujs',
    edges,
    activation,
    backend: () => lastBackend,
    dispose() {
      disposed = true;
      gpu.destroy();
    },
    bind(w) {
      checkLength('synapse weights', w, E);
      const wT = Float32Array.from(byTarget.edge, (e) => w[e]!);
      const wS = Float32Array.from(bySource.edge, (e) => w[e]!);
      const bound: BoundSynapses = {
        forward(v, batch, out) {
          checkForward(v, batch, out, N);
          if (N === 0) return;
          const a = scratch.f32('a', batch * N);
          applyActivation(activation, v, a);
          if (E === 0) {
            out.fill(0);
            return;
          }
          out.set(run(gather(batch), a, wT, byTarget.col, byTarget.ptr).subarray(0, batch * N));
        },
        backward(v, gOut, batch, gv, gw) {
          checkBackward(v, gOut, batch, gv, gw, N, E);
          if (N === 0 || E === 0) return;
          if (gw) {
            const a = scratch.f32('a', batch * N);
            applyActivation(activation, v, a);
            const r = run(edgeK(batch), a, gOut, source, target);
            for (let e = 0; e < E; e++) gw[e]! += r[e]!;
          }
          if (gv) {
            const acc = run(gather(batch), gOut, wS, bySource.col, bySource.ptr).subarray(0, batch * N);
            finishGv(activation, v, acc, N, batch, false, gv, scratch.f32('tmp', batch * N));
          }
        },
      };
      return bound;
    },
  };
}
