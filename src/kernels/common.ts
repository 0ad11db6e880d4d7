// Small helpers shared by the fast synapse kernels: growable scratch buffers, and the
// activation applied while converting between the callers' batch-major layout (b * N + n) and
// the node-major layout (n * B + b) the gather kernels use, so that one pass over the edge
// structure serves every sample of a batch.
import { type Activation, applyActivation, applyActivationGrad } from './activation.ts';
import { KernelError, checkLength } from './synapse.ts';

export class Scratch {
  private bufs = new Map<string, Float32Array>();
  /** A Float32Array of exactly n values (contents unspecified), reused across calls. */
  f32(key: string, n: number): Float32Array {
    let b = this.bufs.get(key);
    if (!b || b.length < n) {
      b = new Float32Array(Math.max(n, b ? b.length * 2 : 0));
      this.bufs.set(key, b);
    }
    return b.length === n ? b : b.subarray(0, n);
  }
}

/** out[n * B + b] = act(x[b * N + n]); plain activation for B = 1. */
export function activateNodeMajor(act: Activation, x: Float32Array, N: number, B: number, out: Float32Array, tmp: Float32Array): void {
  if (B === 1) {
    applyActivation(act, x, out);
    return;
  }
  applyActivation(act, x, tmp);
  toNodeMajor(tmp, N, B, out);
}

export function toNodeMajor(x: Float32Array, N: number, B: number, out: Float32Array): void {
  if (B === 1) {
    out.set(x);
    return;
  }
  for (let b = 0; b < B; b++) {
    const o = b * N;
    for (let n = 0; n < N; n++) out[n * B + b] = x[o + n]!;
  }
}

/** out[b * N + n] = x[n * B + b] (overwrites). */
export function toBatchMajor(x: Float32Array, N: number, B: number, out: Float32Array): void {
  if (B === 1) {
    out.set(x);
    return;
  }
  for (let b = 0; b < B; b++) {
    const o = b * N;
    for (let n = 0; n < N; n++) out[o + n] = x[n * B + b]!;
  }
}

/**
 * gv[b * N + n] += act'(v[b * N + n]) * acc[...]: the last step of every kernel's gv, where acc
 * = sum over outgoing edges of w * gOut[target], in batch-major (nodeMajor = false) or
 * node-major layout.
 */
export function finishGv(act: Activation, v: Float32Array, acc: Float32Array, N: number, B: number, nodeMajor: boolean, gv: Float32Array, tmp: Float32Array): void {
  const nm = nodeMajor && B > 1;
  if (act.type === 'relu') {
    if (!nm) {
      for (let i = 0; i < B * N; i++) if (v[i]! > 0) gv[i]! += acc[i]!;
      return;
    }
    for (let b = 0; b < B; b++) {
      const o = b * N;
      for (let n = 0; n < N; n++) if (v[o + n]! > 0) gv[o + n]! += acc[n * B + b]!;
    }
    return;
  }
  applyActivationGrad(act, v, tmp);
  if (!nm) {
    for (let i = 0; i < B * N; i++) gv[i]! += tmp[i]! * acc[i]!;
    return;
  }
  for (let b = 0; b < B; b++) {
    const o = b * N;
    for (let n = 0; n < N; n++) gv[o + n]! += tmp[o + n]! * acc[n * B + b]!;
  }
}

export function checkBatch(batch: number): void {
  if (!Number.isInteger(batch) || batch < 1) throw new KernelError(`batch: expected a positive integer, got ${batch}`);
}

/** The argument checks every kernel's forward and backward make. */
export function checkForward(v: Float32Array, batch: number, out: Float32Array, N: number): void {
  checkBatch(batch);
  checkLength('activity', v, batch * N);
  checkLength('synaptic input', out, batch * N);
}

export function checkBackward(v: Float32Array, gOut: Float32Array, batch: number, gv: Float32Array | null, gw: Float32Array | null, N: number, nW: number, wName = 'weight gradient'): void {
  checkBatch(batch);
  checkLength('activity', v, batch * N);
  checkLength('upstream gradient', gOut, batch * N);
  if (gv) checkLength('activity gradient', gv, batch * N);
  if (gw) checkLength(wName, gw, nW);
}
