// The 'wasm' backend: the fused 'ppneuron' model resident in WebAssembly memory. A chunk of Euler
// steps of one sample (4 MB of per-step buffers: 5 steps at extent 15) is one call into the
// module (scanForward / scanBackward in src/kernels/wasm-source.ts): the state never leaves wasm
// memory between steps; the host copies the input in and the states out once per chunk. A
// batch runs sample after sample (one sample's buffers stay in the L2 cache; the samples share
// the parameters' gradient accumulators). What the backward pass needs (every state and each
// step's d) stays in wasm memory from the forward pass to its backward pass: a slot per recorded
// simulation, up to `residentBytes` (256 MiB) in all; beyond that, or when the memory is laid
// out anew while a simulation's backward pass has not run, the backward pass reads it from the
// host (the output's states, d moved there).
// The synapses run over the padded layout (wasm-layout.ts): each cell type on a rectangle of its
// lattice, so that a weight group is one stencil tap (over tiles of the type's nodes) or a long
// run (2,355 groups at extent 15, instead of 70,091 short runs), f32x4 SIMD. With two threads a
// worker instantiates the same module on the same shared memory and runs the other half of every
// step (targets forward, sources backward), the two meeting at one barrier per step inside wasm;
// where the platform has no worker threads the backend runs on one. The generic path gets the
// 'wasm' synapse kernel (src/kernels/wasm.ts).
import { PPNEURON_MODEL } from '../dynamics/ppneuron-step.ts';
import { platform, type WasmWorkerHandle } from '../platform.ts';
import { createSynapseKernel } from '../kernels/index.ts';
import type { SynapseKernel } from '../kernels/synapse.ts';
import { WA, WASM_MAX_PAGES, type WasmMemory, wasmModule } from '../kernels/wasm-module.ts';
import { wasmAvailable } from '../kernels/wasm.ts';
import { checkScan, ppneuronInputs } from './js.ts';
import { fusedLookup, registerBackend, registerFusedModel } from './registry.ts';
import { type PaddedLayout, type RunPart, paddedLayout } from './wasm-layout.ts';
import {
  type Backend, type BackendGraph, BackendError, type BackendInstance, type BackendOptions, type FusedSimulator, type HostArray,
  type ScanRequest, hostArray,
} from './types.ts';

interface ScanExports {
  scanForward(pb: number): void;
  scanBackward(pb: number): void;
}
const FNS = ['scanForward', 'scanBackward'] as const;

/**
 * Bytes of per-step chunk buffers in wasm memory (states, input or output gradient, input
 * gradient): a few steps per call keep the memory small while the per-call cost stays negligible.
 */
const CHUNK_BYTES = 4 * 2 ** 20;

/**
 * Bytes of wasm memory that recorded simulations' states and d (slotBytes: 2 B T N floats each)
 * may stay in between their forward and backward passes by default (BackendOptions.residentBytes;
 * at extent 15: 18 MB for 50 steps at batch 1, 73 MB at batch 4). A simulation beyond it keeps d
 * on the host, and both are copied back in per chunk.
 */
const RESIDENT_BYTES = 256 * 2 ** 20;

// Parameter block words (src/kernels/wasm-source.ts).
const PB = {
  N: 1, P: 2, K: 3, ACT: 4, FLAGS: 5, NTH: 6, BAR: 7, VIN: 8, V: 9, X: 10, S: 11, BIAS: 12, RATE: 13, ACT0: 14, ACT1: 15, ACC: 16,
  RUNS: 17, NRUNS: 18, WR: 19, SEGS: 20, NSEGS: 21, LO: 22, HI: 23, A: 24, T: 26, G: 28, GC: 29, GVD: 30, GS0: 31, GS1: 32, RUNACC: 33,
  GBIAS: 34, GR: 35, GX: 36, PROBE: 37, BLOCKS: 38, NBLOCKS: 39, TAPS: 40, DOT: 41, TAPACC: 42, NTAPS: 43, TILES: 44,
} as const;
const PB_BYTES = 192;

const ACT_IDS = { relu: 0, leakyrelu: 1, elu: 2, softplus: 3, sigmoid: 4, tanh: 5 } as const;

// The worker's control block (Int32Array): 0 job sequence, 1 done sequence, 2 function id (-1: quit), 3 argument, 4 failed.
const WORKER_BODY = `
const ctl = new Int32Array(ctlBuf);
const inst = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm backend aborted'); } } });
const f = fns.map((n) => inst.exports[n]);
let seen = 0;
for (;;) {
  let spins = 0;
  while (Atomics.load(ctl, 0) === seen && spins < 100000) spins++;
  if (Atomics.load(ctl, 0) === seen) Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  const fn = ctl[2];
  if (fn === -1) break;
  try { f[fn](ctl[3]); ctl[4] = 0; } catch (e) { ctl[4] = 1; }
  Atomics.store(ctl, 1, seen);
  Atomics.notify(ctl, 1);
}
`;

class Worker2 {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(32));
  private readonly handle: WasmWorkerHandle;
  private seq = 0;
  private alive = true;
  private failure = '';
  constructor(memory: WasmMemory) {
    this.handle = platform().startWasmWorker!({ module: wasmModule(), memory, ctl: this.ctl.buffer as SharedArrayBuffer, fns: FNS, body: WORKER_BODY });
    this.handle.onError((message) => {
      this.alive = false;
      this.failure = message;
    });
  }
  start(fn: number, arg: number): void {
    if (!this.alive) throw new BackendError(`wasm backend: the worker thread has stopped (${this.failure || 'disposed'})`);
    this.ctl[2] = fn;
    this.ctl[3] = arg;
    this.seq++;
    Atomics.store(this.ctl, 0, this.seq);
    Atomics.notify(this.ctl, 0);
  }
  wait(): void {
    let spins = 0;
    while (Atomics.load(this.ctl, 1) !== this.seq) {
      if (++spins > 100000 && Atomics.wait(this.ctl, 1, Atomics.load(this.ctl, 1), 10000) === 'timed-out' && Atomics.load(this.ctl, 1) !== this.seq) {
        this.alive = false;
        throw new BackendError('wasm backend: the worker thread did not answer within 10 s');
      }
    }
    if (this.ctl[4] !== 0) throw new BackendError('wasm backend: the worker thread failed in the scan');
  }
  dispose(): void {
    if (!this.alive) return;
    this.alive = false;
    this.ctl[2] = -1;
    Atomics.add(this.ctl, 0, 1);
    Atomics.notify(this.ctl, 0);
    this.handle.terminate();
  }
}

/** A bump allocator over a shared WebAssembly.Memory, with a resettable dynamic region. */
class Arena {
  readonly memory: WasmMemory;
  private top = 65536; // the module's own data lives in the first page
  private dynBase = 0;
  constructor() {
    this.memory = new WA.Memory({ initial: 1, maximum: WASM_MAX_PAGES, shared: true });
  }
  alloc(bytes: number): number {
    const p = this.top;
    this.top += Math.ceil(bytes / 64) * 64 + 64;
    const need = Math.ceil(this.top / 65536) - this.memory.buffer.byteLength / 65536;
    if (need > 0) {
      if (this.top > WASM_MAX_PAGES * 65536) throw new BackendError(`wasm backend: needs more than ${WASM_MAX_PAGES / 16} MiB of memory`);
      this.memory.grow(need);
    }
    return p;
  }
  /** Ends the static region: later allocations are dynamic (dropped by reset). */
  seal(): void {
    this.dynBase = this.top;
  }
  reset(): void {
    this.top = this.dynBase;
  }
  /** The current top (allocations after it can be dropped with `truncate`). */
  mark(): number {
    return this.top;
  }
  truncate(top: number): void {
    this.top = top;
  }
  f32(p: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, p, n);
  }
  f64(p: number, n: number): Float64Array {
    return new Float64Array(this.memory.buffer, p, n);
  }
  i32(p: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, p, n);
  }
}

interface PlacedPart {
  readonly part: RunPart;
  readonly runs: number;
  readonly wr: number;
  readonly segs: number;
  readonly runAcc: number;
  /** Stencil blocks, tiles, tap records (offset, weight), per-tap dot scratch and f64 accumulators. */
  readonly blocks: number;
  readonly nBlocks: number;
  readonly tiles: number;
  readonly taps: number;
  readonly nTaps: number;
  readonly dot: number;
  readonly tapAcc: number;
}

/**
 * Where a chunk's arrays are (byte pointers into wasm memory): vIn the state before the first
 * step (forward), V the states after each step (forward) or before each step (backward), X the
 * input (forward), S each step's d, G the output's gradient and GX the input's gradient
 * (backward; 0: none).
 */
interface ChunkIo {
  readonly vIn?: number;
  readonly V: number;
  readonly X?: number;
  readonly S: number;
  readonly G?: number;
  readonly GX?: number;
}

/**
 * The first pointer from `base` (a buffer with 8 bytes to spare) congruent to a host array's byte
 * offset modulo 8: V8 copies between host memory and shared memory a word at a time when both
 * sides are aligned alike, else a byte at a time (measured 4x slower).
 */
const alike = (base: number, hostByteOffset: number): number => base + ((hostByteOffset - base) & 7);

/** The scan machinery of one backend instance (memory, layout, threads), built on first use. */
class WasmScan {
  readonly layout: PaddedLayout;
  private readonly arena = new Arena();
  private readonly exports: ScanExports;
  private readonly worker: Worker2 | null;
  private readonly fwd: PlacedPart[];
  private readonly bwd: PlacedPart[];
  private readonly pbs: number[]; // [fwd main, fwd worker, bwd main, bwd worker]
  private readonly bar: number;
  private readonly biasP: number;
  private readonly rateP: number;
  private readonly gBiasP: number;
  private readonly gRP: number;
  private capK = 0;
  private buf = { vIn: 0, act0: 0, act1: 0, acc: 0, gs0: 0, gs1: 0, gc: 0, gvd: 0, V: 0, X: 0, S: 0, G: 0, GX: 0 };
  /** Where the slots start (the end of the per-chunk buffers). */
  private slotBase = 0;
  private readonly slots: Slot[] = [];
  private disposed = false;
  readonly threads: number;

  constructor(
    private readonly graph: BackendGraph,
    threads: number,
    private readonly chunkSteps: number | undefined,
    private readonly residentBytes: number,
  ) {
    this.threads = threads;
    this.layout = paddedLayout(graph, threads);
    const a = this.arena;
    this.exports = new WA.Instance(wasmModule(), {
      env: {
        memory: a.memory,
        abort: () => {
          throw new BackendError('wasm backend aborted');
        },
      },
    }).exports as unknown as ScanExports;
    const N = graph.nNodes;
    const place = (part: RunPart): PlacedPart => {
      const runs = a.alloc(4 * Math.max(1, part.rec.length));
      a.i32(runs, part.rec.length).set(part.rec);
      const segs = a.alloc(4 * Math.max(1, part.segs.rec.length));
      a.i32(segs, part.segs.rec.length).set(part.segs.rec);
      const st = part.stencil!;
      const blocks = a.alloc(4 * Math.max(1, st.blocks.length));
      a.i32(blocks, st.blocks.length).set(st.blocks);
      const tiles = a.alloc(4 * Math.max(1, st.tiles.length));
      a.i32(tiles, st.tiles.length).set(st.tiles);
      const taps = a.alloc(8 * Math.max(1, st.nTaps));
      a.i32(taps, 2 * st.nTaps).set(st.taps); // offsets; the weights (second words) are written per scan
      return {
        part, runs, wr: a.alloc(4 * Math.max(1, part.count)), segs, runAcc: a.alloc(8 * Math.max(1, part.count)),
        blocks, nBlocks: st.nBlocks, tiles, taps, nTaps: st.nTaps, dot: a.alloc(16 * Math.max(1, st.nTaps)), tapAcc: a.alloc(8 * Math.max(1, st.nTaps)),
      };
    };
    this.fwd = this.layout.forward.map(place);
    this.bwd = this.layout.backward.map(place);
    this.pbs = [0, 1, 2, 3].map(() => a.alloc(PB_BYTES));
    this.bar = a.alloc(64);
    this.biasP = a.alloc(4 * N);
    this.rateP = a.alloc(4 * N);
    this.gBiasP = a.alloc(8 * N);
    this.gRP = a.alloc(8 * N);
    // one sample's state and activity buffers, in fresh (zeroed) memory: nothing writes the padding of
    // act and gs, so it reads zero (acc's padding collects what tiles and runs add there, never read)
    const b = this.buf;
    for (const k of ['vIn', 'gc', 'gvd'] as const) b[k] = a.alloc(4 * N);
    for (const k of ['act0', 'act1', 'acc', 'gs0', 'gs1'] as const) b[k] = a.alloc(4 * this.layout.P);
    a.seal();
    this.worker = threads === 2 ? new Worker2(a.memory) : null;
  }

  dispose(): void {
    this.disposed = true;
    this.worker?.dispose();
  }

  /** The per-chunk buffers for K steps (laid out again, after the slots go, when K grows). */
  private ensure(K: number): void {
    if (K <= this.capK) return;
    const a = this.arena;
    this.dropSlots(); // they sit after the buffers laid out here
    a.reset();
    this.capK = K;
    const kn = 4 * K * this.graph.nNodes + 8; // (8: see alike)
    const b = this.buf;
    b.V = a.alloc(kn);
    b.X = a.alloc(kn);
    b.S = a.alloc(kn);
    b.G = b.X; // the backward pass reads no input (the forward saved d), so the output gradient takes its place
    b.GX = a.alloc(kn);
    this.slotBase = a.mark();
  }

  /** A slot of at least `bytes` for `owner`'s d: a free one, a new one, or (over residentBytes) all of them dropped first. */
  private takeSlot(bytes: number, owner: WasmSaved): Slot {
    let best: Slot | null = null;
    for (const s of this.slots) if (s.free() && s.bytes >= bytes && (best === null || s.bytes < best.bytes)) best = s;
    if (best === null) {
      const used = this.arena.mark() - this.slotBase;
      if (used + bytes > this.residentBytes) this.dropSlots();
      best = new Slot(this.arena.alloc(bytes), bytes);
      this.slots.push(best);
    }
    best.take(owner);
    return best;
  }

  /** Moves every slot still awaiting its backward pass to the host and frees them all. */
  private dropSlots(): void {
    for (const s of this.slots) s.spill(this.arena);
    this.slots.length = 0;
    if (this.slotBase > 0) this.arena.truncate(this.slotBase);
  }

  /** Chunk length for T steps. */
  private chunk(T: number): number {
    return Math.max(1, Math.min(T, this.chunkSteps ?? Math.floor(CHUNK_BYTES / (4 * 4 * this.graph.nNodes))));
  }

  private setWeights(parts: readonly PlacedPart[], weight: HostArray): void {
    const g = this.layout.runGroup;
    const tg = this.layout.tapGroup;
    for (const p of parts) {
      const wr = this.arena.f32(p.wr, p.part.count);
      for (let r = 0; r < p.part.count; r++) wr[r] = weight[g[p.part.rec[4 * r + 3]!]!]!;
      const taps = this.arena.f32(p.taps, 2 * p.nTaps);
      const ids = p.part.stencil!.taps;
      for (let k = 0; k < p.nTaps; k++) taps[2 * k + 1] = weight[tg[ids[2 * k + 1]!]!]!;
    }
  }

  /** Fills the parameter block of thread `th` for a forward (kind 0) or backward (kind 1) chunk. */
  private params(kind: 0 | 1, th: number, K: number, flags: number, io: ChunkIo): number {
    const a = this.arena;
    const pb = this.pbs[2 * kind + th]!;
    const w = a.i32(pb, PB_BYTES / 4);
    const placed = (kind === 0 ? this.fwd : this.bwd)[th]!;
    const act = this.graph.activation;
    const b = this.buf;
    w[PB.N] = this.graph.nNodes;
    w[PB.P] = this.layout.P;
    w[PB.K] = K;
    w[PB.ACT] = ACT_IDS[act.type];
    w[PB.FLAGS] = flags;
    w[PB.NTH] = this.threads;
    w[PB.BAR] = this.bar;
    w[PB.VIN] = io.vIn ?? b.vIn;
    w[PB.V] = io.V;
    w[PB.X] = io.X ?? b.X;
    w[PB.S] = io.S;
    w[PB.BIAS] = this.biasP;
    w[PB.RATE] = this.rateP;
    w[PB.ACT0] = b.act0;
    w[PB.ACT1] = b.act1;
    w[PB.ACC] = b.acc;
    w[PB.RUNS] = placed.runs;
    w[PB.NRUNS] = placed.part.count;
    w[PB.WR] = placed.wr;
    w[PB.SEGS] = placed.segs;
    w[PB.NSEGS] = placed.part.segs.count;
    w[PB.LO] = placed.part.lo;
    w[PB.HI] = placed.part.hi;
    const f = a.f64(pb + 4 * PB.A, 2);
    const k = act.kwargs;
    f[0] = act.type === 'leakyrelu' ? k.negative_slope! : act.type === 'elu' ? k.alpha! : act.type === 'softplus' ? k.beta! : 0;
    f[1] = act.type === 'softplus' ? k.threshold! : 0;
    w[PB.G] = io.G ?? 0;
    w[PB.GC] = b.gc;
    w[PB.GVD] = b.gvd;
    w[PB.GS0] = b.gs0;
    w[PB.GS1] = b.gs1;
    w[PB.RUNACC] = placed.runAcc;
    w[PB.GBIAS] = this.gBiasP;
    w[PB.GR] = this.gRP;
    w[PB.GX] = io.GX ?? 0;
    w[PB.BLOCKS] = placed.blocks;
    w[PB.NBLOCKS] = placed.nBlocks;
    w[PB.TAPS] = placed.taps;
    w[PB.DOT] = placed.dot;
    w[PB.TAPACC] = placed.tapAcc;
    w[PB.NTAPS] = placed.nTaps;
    w[PB.TILES] = placed.tiles;
    return pb;
  }

  /** Runs a chunk on every thread. */
  private run(kind: 0 | 1, K: number, flags: number, io: ChunkIo): void {
    const pb0 = this.params(kind, 0, K, flags, io);
    const fn = kind === 0 ? 'scanForward' : 'scanBackward';
    if (this.worker) {
      const pb1 = this.params(kind, 1, K, flags, io);
      this.arena.i32(this.bar, 2).fill(0);
      this.worker.start(FNS.indexOf(fn), pb1);
      let failure: unknown = null;
      try {
        this.exports[fn](pb0);
      } catch (e) {
        failure = e;
      }
      this.worker.wait();
      if (failure) throw failure;
    } else this.exports[fn](pb0);
  }

  private live(): void {
    if (this.disposed) throw new BackendError('wasm backend: used after dispose()');
  }

  /** Whether every state of the last forward pass was finite (the threads' probes). */
  private finiteProbe(): boolean {
    return this.pbs.slice(0, this.threads).every((pb) => !Number.isNaN(this.arena.f32(pb + 4 * PB.PROBE, 1)[0]!));
  }

  forward(r: ScanRequest, bias: HostArray, rate: HostArray, weight: HostArray): { out: Float32Array; saved: WasmSaved | null; finite: boolean } {
    this.live();
    const { batch: B, steps: T } = r;
    const N = this.graph.nNodes;
    const a = this.arena;
    const K = this.chunk(T);
    this.ensure(K);
    const b = this.buf;
    a.f32(this.biasP, N).set(bias);
    a.f32(this.rateP, N).set(rate);
    this.setWeights(this.fwd, weight);
    a.f32(b.acc, this.layout.P).fill(0); // the scans leave zeros at real positions; a failed one may not
    const out = new Float32Array(r.record === 'all' ? B * T * N : B * N);
    // every state on the host: the output, or (record 'last') a copy when the backward pass reads them there
    let traj = r.record === 'all' ? out : null;
    let saved: WasmSaved | null = null;
    if (r.save) {
      saved = new WasmSaved(this, B, T, N, traj, (r.v0 as Float32Array).slice());
      const bytes = slotBytes(B, T, N);
      if (bytes <= this.residentBytes) saved.slot = this.takeSlot(bytes, saved);
      else {
        saved.d = new Float32Array(B * T * N);
        saved.traj = traj ??= new Float32Array(B * T * N);
      }
    }
    const slot = saved?.slot ?? null;
    const x = r.x as Float32Array;
    let finite = true;
    // One sample at a time (its buffers stay in the L2 cache), chunk by chunk; host arrays (B, T, N).
    for (let s = 0; s < B; s++) {
      // the states: in the slot for a recorded simulation (the backward pass reads them there), else the chunk buffer
      const states = slot ? saved!.placeStates(s, traj) : 0;
      a.f32(slot ? states : b.vIn, N).set((r.v0 as Float32Array).subarray(s * N, (s + 1) * N));
      for (let t0 = 0; t0 < T; t0 += K) {
        const k1 = Math.min(K, T - t0);
        const at = (s * T + t0) * N;
        const X = alike(b.X, x.byteOffset + 4 * at);
        a.f32(X, k1 * N).set(x.subarray(at, at + k1 * N));
        const V = slot ? states + 4 * (t0 + 1) * N : traj ? alike(b.V, traj.byteOffset + 4 * at) : b.V;
        const S = slot ? slot.ptr + 4 * at : alike(b.S, 4 * at);
        this.run(0, k1, saved ? 1 : 0, { vIn: slot ? V - 4 * N : b.vIn, V, X, S });
        finite &&= this.finiteProbe();
        const Vs = a.f32(V, k1 * N);
        traj?.set(Vs, at);
        saved?.d?.set(a.f32(S, k1 * N), at);
        if (!slot) a.f32(b.vIn, N).set(Vs.subarray((k1 - 1) * N));
      }
      if (r.record === 'last') out.set(a.f32(slot ? states + 4 * T * N : b.vIn, N), s * N);
    }
    return { out, saved, finite };
  }

  backward(
    r: ScanRequest, saved: WasmSaved, gOut: Float32Array, bias: HostArray, rate: HostArray, weight: HostArray,
    needs: { v0: boolean; x: boolean; bias: boolean; rate: boolean; weight: boolean },
  ): { v0: Float32Array | null; x: Float32Array | null; bias: Float32Array | null; rate: Float32Array | null; weight: Float32Array | null } {
    this.live();
    const { batch: B, steps: T } = r;
    const N = this.graph.nNodes;
    const a = this.arena;
    const K = this.chunk(T);
    this.ensure(K); // (may move the saved d to the host: read saved.slot after it)
    const slot = saved.slot;
    if (slot === null && saved.d === null) {
      throw new BackendError('wasm backend: this simulation\'s backward pass already ran, and the memory it kept is in use again');
    }
    const b = this.buf;
    a.f32(this.biasP, N).set(bias);
    a.f32(this.rateP, N).set(rate);
    this.setWeights(this.bwd, weight);
    a.f32(b.acc, this.layout.P).fill(0);
    // the parameters' gradients accumulate over every step of every sample
    a.f64(this.gBiasP, N).fill(0);
    a.f64(this.gRP, N).fill(0);
    for (const p of this.bwd) {
      a.f64(p.runAcc, Math.max(1, p.part.count)).fill(0);
      a.f64(p.tapAcc, Math.max(1, p.nTaps)).fill(0);
    }
    const gX = needs.x ? new Float32Array(B * T * N) : null;
    const gV0 = needs.v0 ? new Float32Array(B * N) : null;
    const flags = needs.weight ? 4 : 0;
    const { traj, v0 } = saved as { traj: Float32Array; v0: Float32Array }; // traj: on the host when d is
    const gc = a.f32(b.gc, N);
    const lastStart = Math.floor((T - 1) / K) * K;
    for (let s = 0; s < B; s++) {
      if (r.record === 'last') gc.set(gOut.subarray(s * N, (s + 1) * N));
      else gc.fill(0);
      for (let t0 = lastStart; t0 >= 0; t0 -= K) {
        const k1 = Math.min(K, T - t0);
        const at = (s * T + t0) * N;
        // the state before each step (the initial state, then the states after the steps before):
        // in the slot, else from the host; and the output gradient after it
        let V: number;
        let S: number;
        if (slot === null) {
          V = alike(b.V, traj.byteOffset + 4 * (at - N));
          const Vs = a.f32(V, k1 * N);
          if (t0 === 0) {
            Vs.set(v0.subarray(s * N, (s + 1) * N));
            Vs.set(traj.subarray(at, at + (k1 - 1) * N), N);
          } else Vs.set(traj.subarray(at - N, at + (k1 - 1) * N));
          S = alike(b.S, saved.d!.byteOffset + 4 * at);
          a.f32(S, k1 * N).set(saved.d!.subarray(at, at + k1 * N));
        } else {
          V = saved.states[s]! + 4 * t0 * N;
          S = slot.ptr + 4 * at;
        }
        const G = r.record === 'all' ? alike(b.G, gOut.byteOffset + 4 * at) : 0;
        if (G) a.f32(G, k1 * N).set(gOut.subarray(at, at + k1 * N));
        const GX = gX ? alike(b.GX, gX.byteOffset + 4 * at) : 0;
        this.run(1, k1, flags, { V, S, G, GX });
        if (gX) gX.set(a.f32(GX, k1 * N), at);
      }
      if (gV0 && !(T === 0 && r.record === 'all')) gV0.set(gc, s * N);
    }
    slot?.consumed(); // free for the next simulation (a second backward pass still finds it until then)
    let gw: Float32Array | null = null;
    if (needs.weight) {
      const acc = new Float64Array(weight.length);
      const g = this.layout.runGroup;
      const tg = this.layout.tapGroup;
      for (const p of this.bwd) {
        const ra = a.f64(p.runAcc, p.part.count);
        for (let k = 0; k < p.part.count; k++) acc[g[p.part.rec[4 * k + 3]!]!]! += ra[k]!;
        const ta = a.f64(p.tapAcc, p.nTaps);
        const ids = p.part.stencil!.taps;
        for (let k = 0; k < p.nTaps; k++) acc[tg[ids[2 * k + 1]!]!]! += ta[k]!;
      }
      gw = Float32Array.from(acc);
    }
    return {
      v0: gV0,
      x: gX,
      bias: needs.bias ? Float32Array.from(a.f64(this.gBiasP, N)) : null,
      rate: needs.rate ? Float32Array.from(a.f64(this.gRP, N)) : null,
      weight: gw,
    };
  }
}

/**
 * Bytes of a slot for B samples of T steps: d (B, T, N), then each sample's states (T + 1, N: the
 * initial state and the states after each step; 8 bytes to spare, see alike).
 */
function slotBytes(B: number, T: number, N: number): number {
  return 4 * B * N * (2 * T + 1) + 8 * B;
}

/**
 * A region of wasm memory holding one recorded simulation's d and states (slotBytes) from its
 * forward to its backward pass.
 */
class Slot {
  private owner: WasmSaved | null = null;
  private used = false;
  constructor(readonly ptr: number, readonly bytes: number) {}
  /** Whether a new simulation may take it: no owner, or one whose backward pass ran. */
  free(): boolean {
    return this.owner === null || this.used;
  }
  take(owner: WasmSaved): void {
    if (this.owner) this.owner.slot = null; // its backward ran: a second one is refused (the values are overwritten)
    this.owner = owner;
    this.used = false;
  }
  consumed(): void {
    this.used = true;
  }
  /** Before the slot goes away: an owner still awaiting its backward pass gets d and the states on the host. */
  spill(arena: Arena): void {
    const o = this.owner;
    this.owner = null;
    if (o === null) return;
    o.slot = null;
    if (this.used) return;
    const { B, T, N } = o;
    o.d = arena.f32(this.ptr, B * T * N).slice();
    if (o.traj === null) {
      // (T + 1, N) per sample from the initial state on in the slot; the host keeps (B, T, N) after it
      const traj = new Float32Array(B * T * N);
      for (let s = 0; s < B; s++) traj.set(arena.f32(o.states[s]! + 4 * N, T * N), s * T * N);
      o.traj = traj;
    }
  }
}

/**
 * What the forward pass keeps for the VJP: the initial state, every state and each step's d =
 * bias - v + syn + x, (B, T, N): in a slot of wasm memory, or on the host (`traj`, `d`).
 */
class WasmSaved {
  slot: Slot | null = null;
  d: Float32Array | null = null;
  /** Where each sample's states start in the slot. */
  readonly states: number[] = [];
  constructor(
    readonly scan: WasmScan,
    readonly B: number,
    readonly T: number,
    readonly N: number,
    /** The states after each step on the host (B, T, N): the output for record 'all', else null while they are in the slot. */
    public traj: Float32Array | null,
    readonly v0: Float32Array,
  ) {}

  /**
   * Places sample s's states in the slot (after d), aligned like its states in `traj` (the host
   * copy they go to, if any: see alike); returns where they start.
   */
  placeStates(s: number, traj: Float32Array | null): number {
    const { B, T, N } = this;
    const base = this.slot!.ptr + 4 * B * T * N + s * (4 * (T + 1) * N + 8);
    // the state after step 0 (at base + 4 N) goes to traj's sample s, step 0
    const p = traj ? alike(base, traj.byteOffset + 4 * s * T * N - 4 * N) : base;
    this.states[s] = p;
    return p;
  }
}

/** The 'wasm' backend's fused 'ppneuron' model. */
function wasmPpneuron(instance: WasmInstance, graph: BackendGraph): FusedSimulator {
  return {
    model: PPNEURON_MODEL,
    // float32, weights one per edge group (flyvis's default sharing) and finite (a non-finite
    // weight times the padding's zeros would not stay zero); the js backend runs the rest.
    supports: ({ dtype, inputs }) => {
      if (dtype !== 'float32' || !graph.groups) return false;
      const w = inputs.weight;
      if (!w || w.length !== graph.groups.representative.length || !Object.values(inputs).every((x) => x instanceof Float32Array)) return false;
      for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) return false;
      return true;
    },
    forward(r) {
      checkScan(graph, r);
      const { bias, rate, weight } = ppneuronInputs(graph, r);
      const { out, saved, finite } = instance.scan().forward(r, bias, rate, weight);
      return { output: hostArray(out, r.record === 'all' ? [r.batch, r.steps, graph.nNodes] : [r.batch, graph.nNodes]), finite, ...(saved ? { saved } : {}) };
    },
    backward(r, fwd, gOut, needs) {
      const saved = fwd.saved;
      if (saved === undefined) throw new BackendError('scan backward: the forward pass kept nothing (it ran while no tape was recording)');
      if (!(saved instanceof WasmSaved) || saved.scan !== instance.scan()) throw new BackendError('scan backward: the forward pass ran on another backend instance');
      const { bias, rate, weight } = ppneuronInputs(graph, r);
      const g = instance.scan().backward(r, saved, gOut as Float32Array, bias, rate, weight, {
        v0: needs.v0, x: needs.x, bias: needs.inputs.bias ?? false, rate: needs.inputs.rate ?? false, weight: needs.inputs.weight ?? false,
      });
      return { v0: g.v0, x: g.x, inputs: { bias: g.bias, rate: g.rate, weight: g.weight } };
    },
  };
}

interface WasmInstance extends BackendInstance {
  scan(): WasmScan;
}

function threadsFor(options: BackendOptions): number {
  const want = options.kernel === 'wasm-threads' ? 2 : (options.threads ?? 1);
  if (!Number.isInteger(want) || want < 1) throw new BackendError(`threads: expected a positive integer, got ${want}`);
  // Two threads where the platform can start a worker on shared memory; else one.
  return want >= 2 && platform().startWasmWorker ? 2 : 1;
}

export const wasmBackend: Backend = {
  name: 'wasm',
  kernels: ['wasm-threads'],
  available: () => wasmAvailable(),
  create(graph: BackendGraph, options: BackendOptions = {}): BackendInstance {
    if (options.kernel !== undefined && options.kernel !== 'wasm' && options.kernel !== 'wasm-threads') {
      throw new BackendError(`the wasm backend runs the kernels wasm and wasm-threads, not '${options.kernel}'`);
    }
    const threads = threadsFor(options);
    const chunk = options.chunkSteps;
    if (chunk !== undefined && (!Number.isInteger(chunk) || chunk < 1)) throw new BackendError(`chunkSteps: expected a positive integer, got ${chunk}`);
    const resident = options.residentBytes ?? RESIDENT_BYTES;
    if (!Number.isInteger(resident) || resident < 0) throw new BackendError(`residentBytes: expected a non-negative integer, got ${resident}`);
    let scan: WasmScan | undefined;
    const kernels = new Map<boolean, SynapseKernel>();
    const edges = { nNodes: graph.nNodes, source: graph.source, target: graph.target };
    let fused: ((model: string) => FusedSimulator | undefined) | undefined;
    let disposed = false;
    const instance: WasmInstance = {
      backend: 'wasm',
      graph,
      kernelName: threads === 2 ? 'wasm-threads' : 'wasm',
      scan: () => {
        if (disposed) throw new BackendError('wasm backend: used after dispose()');
        return (scan ??= new WasmScan(graph, threads, chunk, resident));
      },
      fused: (model) => (fused ??= fusedLookup(instance, graph))(model),
      synapseKernel(o = { grouped: true }) {
        const grouped = o.grouped && graph.groups !== undefined;
        let k = kernels.get(grouped);
        if (k === undefined) {
          k = createSynapseKernel(edges, graph.activation, {
            kernel: threads === 2 ? 'wasm-threads' : 'wasm',
            ...(grouped ? { weightGroups: graph.groups!.index } : {}),
          });
          kernels.set(grouped, k);
        }
        return k;
      },
      dispose() {
        disposed = true;
        scan?.dispose();
        for (const k of kernels.values()) k.dispose?.();
        kernels.clear();
      },
    };
    return instance;
  },
};

registerBackend(wasmBackend, 10);
registerFusedModel('wasm', PPNEURON_MODEL, (instance, graph) => wasmPpneuron(instance as WasmInstance, graph));
