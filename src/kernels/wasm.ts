// The 'wasm' and 'wasm-threads' kernels: the runs structure (structure.ts) executed by a
// WebAssembly module with f32x4 SIMD (wasm-source.ts, compiled by wasm-build.ts), over a
// shared WebAssembly.Memory. Batches use the node-major layout (n * B + b), so a run is one
// contiguous range of len * B floats per side and every sample shares the pass.
//
// With threads = 2, a worker thread instantiates the same module on the same memory; the
// forward runs are split at a target node (each thread writes its own half of the output),
// the gv runs at a source node, both chosen to balance edges. The main thread does its half
// and waits on an Atomics barrier. The worker is unref'd (it never keeps the process alive)
// and dispose() terminates it. The thread comes from the platform (src/platform.ts: Node's
// worker_threads, src/kernels/wasm-worker-node.ts); without one 'wasm-threads' is unavailable.
import { platform, type WasmWorkerHandle } from '../platform.ts';
import { type Activation, applyActivation, applyActivationGrad } from './activation.ts';
import { checkBackward, checkForward } from './common.ts';
import { type Runs, buildRuns, groupWeights } from './structure.ts';
import { type BoundSynapses, type EdgeIndex, KernelError, type SynapseKernel, checkLength, validateEdgeIndex } from './synapse.ts';
import { WA, WASM_MAX_PAGES, type WasmMemory, wasmModule } from './wasm-module.ts';

interface Exports {
  axpyRunsW(runs: number, r0: number, r1: number, wr: number, x: number, y: number, B: number, srcField: number, dstField: number): void;
  axpyRunsE(runs: number, r0: number, r1: number, w: number, x: number, y: number, B: number, srcField: number, dstField: number): void;
  dotRuns(runs: number, r0: number, r1: number, a: number, g: number, B: number, out: number): void;
  gwRuns(runs: number, r0: number, r1: number, a: number, g: number, B: number, gw: number): void;
  dotAxpyRuns(runs: number, r0: number, r1: number, wr: number, a: number, g: number, acc: number, B: number, out: number): void;
  reduceGroups(dot: number, group: number, n: number, acc: number): void;
  toNodeMajor(x: number, y: number, N: number, B: number, n0: number, n1: number, relu: number): void;
  toBatchMajor(x: number, y: number, N: number, B: number, n0: number, n1: number): void;
  finishGv(d: number, acc: number, gv: number, N: number, B: number, n0: number, n1: number, relu: number): void;
  zero(p: number, bytes: number): void;
}
const FNS = ['axpyRunsW', 'axpyRunsE', 'dotRuns', 'gwRuns', 'dotAxpyRuns', 'reduceGroups', 'toNodeMajor', 'toBatchMajor', 'finishGv', 'zero'] as const;
type Fn = (typeof FNS)[number];

function instantiate(memory: WasmMemory): Exports {
  const inst = new WA.Instance(wasmModule(), {
    env: {
      memory,
      abort: () => {
        throw new KernelError('wasm kernel aborted');
      },
    },
  });
  return inst.exports as unknown as Exports;
}

/**
 * Is WebAssembly with SIMD and shared memory usable here (compiling the module if needed)? With
 * `threads` 2, also: can the platform start the helper thread?
 */
export function wasmAvailable(threads = 1): { ok: true } | { ok: false; reason: string } {
  if (threads === 2 && !platform().startWasmWorker) {
    return { ok: false, reason: `'wasm-threads' needs a worker thread sharing memory with this one, which this environment (${platform().name}) does not provide (Node's flyvis-ts does)` };
  }
  try {
    instantiate(new WA.Memory({ initial: 1, maximum: WASM_MAX_PAGES, shared: true }));
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

// ---- control block layout (Int32Array over a SharedArrayBuffer) ----
const SEQ = 0;
const DONE = 1;
const NCALLS = 2;
const CALL0 = 4;
const CALL_WORDS = 12; // fn id + up to 11 int args
const MAX_CALLS = 4;
const QUIT = -1;

// The worker's program: run with module, memory, ctlBuf (the control block's SharedArrayBuffer)
// and fns (export names by function id) in scope (the platform's startWasmWorker provides them).
const WORKER_SOURCE = `
const ctl = new Int32Array(ctlBuf);
const inst = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm kernel aborted'); } } });
const f = fns.map((n) => inst.exports[n]);
let seen = 0;
for (;;) {
  let spins = 0;
  while (Atomics.load(ctl, ${SEQ}) === seen && spins < 20000) spins++;
  if (Atomics.load(ctl, ${SEQ}) === seen) Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  const n = ctl[${NCALLS}];
  if (n === ${QUIT}) break;
  for (let c = 0; c < n; c++) {
    const o = ${CALL0} + c * ${CALL_WORDS};
    const a = ctl.subarray(o + 1, o + ${CALL_WORDS});
    f[ctl[o]](a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  }
  Atomics.store(ctl, ${DONE}, seen);
  Atomics.notify(ctl, ${DONE});
}
`;

type Call = [Fn, ...number[]];

class Helper {
  private readonly ctl: Int32Array;
  private readonly worker: WasmWorkerHandle;
  private seq = 0;
  private alive = true;
  private failure = '';
  constructor(memory: WasmMemory) {
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (CALL0 + MAX_CALLS * CALL_WORDS)));
    const start = platform().startWasmWorker;
    if (!start) throw new KernelError(`wasm-threads: no worker threads in this environment (${platform().name})`);
    this.worker = start({ module: wasmModule(), memory, ctl: this.ctl.buffer as SharedArrayBuffer, fns: FNS, body: WORKER_SOURCE });
    this.worker.onError((message) => {
      this.alive = false;
      this.failure = message;
    });
  }
  /** Starts the calls on the worker; wait() blocks until they are done. */
  start(calls: Call[]): void {
    if (!this.alive) throw new KernelError(`wasm-threads: the worker thread has stopped (${this.failure || 'disposed'})`);
    if (calls.length > MAX_CALLS) throw new KernelError(`wasm-threads: at most ${MAX_CALLS} calls per job`);
    const ctl = this.ctl;
    ctl[NCALLS] = calls.length;
    calls.forEach((c, i) => {
      const o = CALL0 + i * CALL_WORDS;
      ctl[o] = FNS.indexOf(c[0]);
      for (let k = 1; k < c.length; k++) ctl[o + k] = c[k] as number;
    });
    this.seq++;
    Atomics.store(ctl, SEQ, this.seq);
    Atomics.notify(ctl, SEQ);
  }
  wait(): void {
    const ctl = this.ctl;
    let spins = 0;
    while (Atomics.load(ctl, DONE) !== this.seq) {
      if (++spins > 200000) {
        const r = Atomics.wait(ctl, DONE, Atomics.load(ctl, DONE), 5000);
        if (r === 'timed-out' && Atomics.load(ctl, DONE) !== this.seq) {
          this.alive = false;
          throw new KernelError('wasm-threads: the worker thread did not answer within 5 s');
        }
      }
    }
  }
  dispose(): void {
    if (!this.alive) return;
    this.alive = false;
    this.ctl[NCALLS] = QUIT;
    Atomics.add(this.ctl, SEQ, 1);
    Atomics.notify(this.ctl, SEQ);
    this.worker.terminate();
  }
}

/** A slice of the runs: run records (s0, t0, len, e0) and the original run of each. */
interface Part {
  readonly rec: Int32Array;
  readonly orig: Int32Array;
}

/** Splits runs at node `cut` of the given side (0: source, 1: target) into [< cut, >= cut]. */
function splitRuns(runs: Runs, field: 0 | 1, cut: number): [Part, Part] {
  const lo: number[] = [];
  const hi: number[] = [];
  const loO: number[] = [];
  const hiO: number[] = [];
  for (let r = 0; r < runs.count; r++) {
    const s = runs.s0[r]!;
    const t = runs.t0[r]!;
    const L = runs.len[r]!;
    const e = runs.e0[r]!;
    const start = field === 0 ? s : t;
    const k = Math.max(0, Math.min(L, cut - start)); // edges of this run below the cut
    if (k > 0) lo.push(s, t, k, e), loO.push(r);
    if (k < L) hi.push(s + k, t + k, L - k, e + k), hiO.push(r);
  }
  return [
    { rec: Int32Array.from(lo), orig: Int32Array.from(loO) },
    { rec: Int32Array.from(hi), orig: Int32Array.from(hiO) },
  ];
}

/** The node at which half of the edges (by that side) lie below. */
function balancedCut(nNodes: number, side: Int32Array): number {
  const count = new Int32Array(nNodes);
  for (let e = 0; e < side.length; e++) count[side[e]!]!++;
  let acc = 0;
  for (let n = 0; n < nNodes; n++) {
    acc += count[n]!;
    if (2 * acc >= side.length) return n + 1;
  }
  return nNodes;
}

export interface WasmKernelOptions {
  readonly weightGroups?: Int32Array;
  /** 1 (default) or 2: run half of each step on a worker thread. */
  readonly threads?: number;
}

export function wasmSynapseKernel(edges: EdgeIndex, activation: Activation, options: WasmKernelOptions = {}): SynapseKernel & { readonly runs: Runs } {
  validateEdgeIndex(edges);
  const threads = options.threads ?? 1;
  if (threads !== 1 && threads !== 2) throw new KernelError(`options.threads: the wasm kernel runs on 1 or 2 threads, got ${threads}`);
  const { nNodes: N, source, target } = edges;
  const E = source.length;
  const runs = buildRuns(edges, options.weightGroups);
  const grouped = runs.group !== null;
  const relu = activation.type === 'relu' ? 1 : 0;

  const memory = new WA.Memory({ initial: 1, maximum: WASM_MAX_PAGES, shared: true });
  const x = instantiate(memory);
  let top = 65536; // leave the first page to the module's own data
  const alloc = (bytes: number): number => {
    const p = top;
    top += Math.ceil(bytes / 64) * 64 + 64;
    const need = Math.ceil(top / 65536) - memory.buffer.byteLength / 65536;
    if (need > 0) {
      if (top > WASM_MAX_PAGES * 65536) throw new KernelError(`wasm kernel: needs more than ${WASM_MAX_PAGES * 64} KiB of memory`);
      memory.grow(need);
    }
    return p;
  };
  const f32 = (p: number, n: number): Float32Array => new Float32Array(memory.buffer, p, n);
  const i32 = (p: number, n: number): Int32Array => new Int32Array(memory.buffer, p, n);

  // Run partitions: forward split by target, gv by source (one part each on one thread).
  const whole: Part = { rec: Int32Array.from({ length: runs.count * 4 }, (_, i) => [runs.s0, runs.t0, runs.len, runs.e0][i & 3]![i >> 2]!), orig: Int32Array.from({ length: runs.count }, (_, i) => i) };
  const fwdParts: Part[] = threads === 2 ? splitRuns(runs, 1, balancedCut(N, target)) : [whole];
  const bwdParts: Part[] = threads === 2 ? splitRuns(runs, 0, balancedCut(N, source)) : [whole];
  const place = (parts: Part[]) =>
    parts.map((p) => {
      const n = p.orig.length;
      const rec = alloc(p.rec.byteLength);
      i32(rec, p.rec.length).set(p.rec);
      // the group (dense index) of each run of the part, for reducing run gradients per group
      const groupPtr = grouped ? alloc(4 * n) : 0;
      if (grouped) i32(groupPtr, n).set(Int32Array.from(p.orig, (r) => runs.group![r]!));
      return { ...p, n, recPtr: rec, wPtr: grouped ? alloc(4 * n) : 0, dotPtr: alloc(4 * n), groupPtr };
    });
  const fwd = place(fwdParts);
  const bwd = place(bwdParts);
  const wEdgePtr = grouped ? 0 : alloc(4 * E);
  const groupAccP = grouped ? alloc(8 * runs.nGroups) : 0;
  let gwPtr = 0; // per-edge gradient buffer, allocated on first use

  // Batch buffers, reallocated when a larger batch arrives.
  let cap = 0;
  let vP = 0, aP = 0, gP = 0, accP = 0, tP = 0;
  const ensureBatch = (B: number): void => {
    if (B <= cap) return;
    cap = B;
    const bytes = 4 * B * N;
    vP = alloc(bytes);
    aP = alloc(bytes);
    gP = alloc(bytes);
    accP = alloc(bytes);
    tP = alloc(bytes);
  };
  const helper = threads === 2 ? new Helper(memory) : null;
  const exec = (calls: Call[], own: Call[]): void => {
    if (helper) helper.start(calls);
    else own = [...calls, ...own];
    for (const [fn, ...args] of own) (x[fn] as (...a: number[]) => void)(...args);
    helper?.wait();
  };

  /** v (batch-major, caller) -> activated, node-major, at aP; v copied to vP. */
  const activate = (v: Float32Array, B: number): void => {
    f32(vP, B * N).set(v);
    if (relu) x.toNodeMajor(vP, aP, N, B, 0, N, 1);
    else {
      applyActivation(activation, v, f32(tP, B * N));
      x.toNodeMajor(tP, aP, N, B, 0, N, 0);
    }
  };

  let loaded: object | null = null;
  let disposed = false;
  const live = (): void => {
    if (disposed) throw new KernelError(`${threads === 2 ? 'wasm-threads' : 'wasm'} kernel: used after dispose()`);
  };

  return {
    name: threads === 2 ? 'wasm-threads' : 'wasm',
    edges,
    activation,
    runs,
    ...(grouped ? { nGroups: runs.groupSlots } : {}),
    dispose() {
      disposed = true;
      helper?.dispose();
    },
    bind(w, bindOptions = {}) {
      live();
      checkLength('synapse weights', w, E);
      const wRun = grouped ? new Float32Array(runs.count) : null;
      if (wRun) {
        const wg = groupWeights(runs, w, bindOptions.checkGroups ?? true, new Float32Array(runs.nGroups));
        for (let r = 0; r < runs.count; r++) wRun[r] = wg[runs.group![r]!]!;
      }
      const wCopy = grouped ? null : Float32Array.from(w);
      const token = {};
      const load = (): void => {
        if (loaded === token) return;
        if (wRun) for (const p of [...fwd, ...bwd]) f32(p.wPtr, p.n).set(p.orig.length === runs.count ? wRun : Float32Array.from(p.orig, (r) => wRun[r]!));
        else f32(wEdgePtr, E).set(wCopy!);
        loaded = token;
      };
      /** accP (zeroed by the caller) += the forward runs over aP. */
      const forwardRuns = (B: number): void => {
        if (helper) exec([axpy(fwd[1]!, aP, accP, B, 0, 1)], [axpy(fwd[0]!, aP, accP, B, 0, 1)]);
        else if (grouped) x.axpyRunsW(fwd[0]!.recPtr, 0, fwd[0]!.n, fwd[0]!.wPtr, aP, accP, B, 0, 1);
        else x.axpyRunsE(fwd[0]!.recPtr, 0, fwd[0]!.n, wEdgePtr, aP, accP, B, 0, 1);
      };
      const axpy = (p: (typeof fwd)[number], from: number, to: number, B: number, srcField: number, dstField: number): Call =>
        grouped ? ['axpyRunsW', p.recPtr, 0, p.n, p.wPtr, from, to, B, srcField, dstField] : ['axpyRunsE', p.recPtr, 0, p.n, wEdgePtr, from, to, B, srcField, dstField];

      /**
       * The runs of the adjoint, with g (node-major) at gP and, when gw or gGroup is given,
       * act(v) (node-major) at aP: accumulates gw / gGroup and, when withGv, leaves
       * sum_{e: source = s} w[e] g[target[e]] (node-major) at accP.
       */
      const adjointRuns = (B: number, withGv: boolean, gw: Float32Array | null, gGroup: Float32Array | null): void => {
        if (gw && !gwPtr) gwPtr = alloc(4 * E);
        if (gw) f32(gwPtr, E).set(gw);
        if (withGv) x.zero(accP, 4 * B * N);
        if (!helper && gGroup && withGv) {
          // One thread, grouped weights: the group gradient and the gv adjoint in one pass.
          const p = fwd[0]!;
          x.dotAxpyRuns(p.recPtr, 0, p.n, p.wPtr, aP, gP, accP, B, p.dotPtr);
          if (gw) x.gwRuns(p.recPtr, 0, p.n, aP, gP, B, gwPtr);
        } else {
          // Worker: part 1 of each; main: part 0.
          const jobs: Call[][] = fwd.map(() => []);
          fwd.forEach((p, i) => {
            if (gw) jobs[i]!.push(['gwRuns', p.recPtr, 0, p.n, aP, gP, B, gwPtr]);
            if (gGroup) jobs[i]!.push(['dotRuns', p.recPtr, 0, p.n, aP, gP, B, p.dotPtr]);
          });
          if (withGv) bwd.forEach((p, i) => jobs[i]!.push(axpy(p, gP, accP, B, 1, 0)));
          if (jobs.length === 2) exec(jobs[1]!, jobs[0]!);
          else exec([], jobs[0]!);
        }
        if (gw) gw.set(f32(gwPtr, E));
        if (gGroup) {
          // per run, then per group (f64, in wasm), then into the caller's group slots
          x.zero(groupAccP, 8 * runs.nGroups);
          for (const p of fwd) x.reduceGroups(p.dotPtr, p.groupPtr, p.n, groupAccP);
          const acc = new Float64Array(memory.buffer, groupAccP, runs.nGroups);
          const ids = runs.groupIds!;
          for (let k = 0; k < runs.nGroups; k++) gGroup[ids[k]!]! += acc[k]!;
        }
      };

      const gradients = (v: Float32Array, gOut: Float32Array, B: number, gv: Float32Array | null, gw: Float32Array | null, gGroup: Float32Array | null): void => {
        live();
        ensureBatch(B);
        load();
        activate(v, B);
        f32(tP, B * N).set(gOut);
        x.toNodeMajor(tP, gP, N, B, 0, N, 0);
        adjointRuns(B, gv !== null, gw, gGroup);
        if (gv) {
          const gvBuf = f32(gP, B * N); // g (node-major) is no longer needed: reuse its buffer
          gvBuf.set(gv);
          if (relu) x.finishGv(vP, accP, gP, N, B, 0, N, 1);
          else {
            applyActivationGrad(activation, v, f32(tP, B * N));
            x.finishGv(tP, accP, gP, N, B, 0, N, 0);
          }
          gv.set(f32(gP, B * N));
        }
      };

      const bound: BoundSynapses = {
        forward(v, batch, out) {
          live();
          checkForward(v, batch, out, N);
          const B = batch;
          ensureBatch(B);
          load();
          activate(v, B);
          x.zero(accP, 4 * B * N);
          forwardRuns(B);
          if (B === 1) out.set(f32(accP, N));
          else {
            x.toBatchMajor(accP, tP, N, B, 0, N);
            out.set(f32(tP, B * N));
          }
        },
        backward(v, gOut, batch, gv, gw) {
          checkBackward(v, gOut, batch, gv, gw, N, E);
          gradients(v, gOut, batch, gv, gw, null);
        },
      };
      if (grouped) {
        bound.backwardGroups = (v, gOut, batch, gv, gGroup) => {
          checkBackward(v, gOut, batch, gv, gGroup, N, runs.groupSlots, 'group weight gradient');
          gradients(v, gOut, batch, gv, null, gGroup);
        };
      }
      return bound;
    },
  };
}
