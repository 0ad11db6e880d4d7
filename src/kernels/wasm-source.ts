// AssemblyScript source of the 'wasm' kernel's module (f32x4 SIMD), kept as a string so that
// it stays out of the TypeScript project; wasm-build.ts compiles it with the pinned
// `assemblyscript` (npm run build:wasm, or automatically at first use).
//
// Memory is imported (shared, so worker threads can run the same module on it); every
// argument is a byte offset into it. Layouts: x, y, a, g, acc are node-major (n * B + b), so a
// run (s0, t0, len) covers the contiguous ranges [s0 * B, (s0 + len) * B) and [t0 * B, ...).
// A run record is 4 int32: s0, t0, len, e0 (first original edge). Functions take a run range
// [r0, r1) so that threads can split the work.
export const WASM_SOURCE_VERSION = 5;

export const WASM_SOURCE = String.raw`
// y[dst*B ..] += wr[r] * x[src*B ..] for runs r0..r1 (one weight per run).
export function axpyRunsW(runs: usize, r0: i32, r1: i32, wr: usize, x: usize, y: usize, B: i32, srcField: i32, dstField: i32): void {
  for (let r = r0; r < r1; r++) {
    const rec = runs + (<usize>r << 4);
    const s = load<i32>(rec + (<usize>srcField << 2));
    const t = load<i32>(rec + (<usize>dstField << 2));
    const L = load<i32>(rec, 8) * B;
    const wv = load<f32>(wr + (<usize>r << 2));
    const ws = f32x4.splat(wv);
    const px = x + (<usize>(s * B) << 2);
    const py = y + (<usize>(t * B) << 2);
    let i = 0;
    for (; i + 8 <= L; i += 8) {
      const o = <usize>i << 2;
      v128.store(py + o, f32x4.add(v128.load(py + o), f32x4.mul(ws, v128.load(px + o))));
      v128.store(py + o, f32x4.add(v128.load(py + o, 16), f32x4.mul(ws, v128.load(px + o, 16))), 16);
    }
    for (; i + 4 <= L; i += 4) {
      const o = <usize>i << 2;
      v128.store(py + o, f32x4.add(v128.load(py + o), f32x4.mul(ws, v128.load(px + o))));
    }
    for (; i < L; i++) {
      const o = <usize>i << 2;
      store<f32>(py + o, load<f32>(py + o) + wv * load<f32>(px + o));
    }
  }
}

// y[dst*B ..] += w[e0 + i] * x[src*B ..] (per-edge weights, original edge order).
export function axpyRunsE(runs: usize, r0: i32, r1: i32, w: usize, x: usize, y: usize, B: i32, srcField: i32, dstField: i32): void {
  for (let r = r0; r < r1; r++) {
    const rec = runs + (<usize>r << 4);
    const s = load<i32>(rec + (<usize>srcField << 2));
    const t = load<i32>(rec + (<usize>dstField << 2));
    const len = load<i32>(rec, 8);
    const pw = w + (<usize>load<i32>(rec, 12) << 2);
    const px = x + (<usize>(s * B) << 2);
    const py = y + (<usize>(t * B) << 2);
    if (B == 1) {
      let i = 0;
      for (; i + 4 <= len; i += 4) {
        const o = <usize>i << 2;
        v128.store(py + o, f32x4.add(v128.load(py + o), f32x4.mul(v128.load(pw + o), v128.load(px + o))));
      }
      for (; i < len; i++) {
        const o = <usize>i << 2;
        store<f32>(py + o, load<f32>(py + o) + load<f32>(pw + o) * load<f32>(px + o));
      }
    } else {
      for (let i = 0; i < len; i++) {
        const wv = load<f32>(pw + (<usize>i << 2));
        const ws = f32x4.splat(wv);
        const base = <usize>(i * B) << 2;
        let j = 0;
        for (; j + 4 <= B; j += 4) {
          const o = base + (<usize>j << 2);
          v128.store(py + o, f32x4.add(v128.load(py + o), f32x4.mul(ws, v128.load(px + o))));
        }
        for (; j < B; j++) {
          const o = base + (<usize>j << 2);
          store<f32>(py + o, load<f32>(py + o) + wv * load<f32>(px + o));
        }
      }
    }
  }
}

// out[r] = sum over the run of a[s*B ..] * g[t*B ..] (the run's weight gradient), f32 lanes.
export function dotRuns(runs: usize, r0: i32, r1: i32, a: usize, g: usize, B: i32, out: usize): void {
  for (let r = r0; r < r1; r++) {
    const rec = runs + (<usize>r << 4);
    const pa = a + (<usize>(load<i32>(rec) * B) << 2);
    const pg = g + (<usize>(load<i32>(rec, 4) * B) << 2);
    const L = load<i32>(rec, 8) * B;
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    let i = 0;
    for (; i + 8 <= L; i += 8) {
      const o = <usize>i << 2;
      acc0 = f32x4.add(acc0, f32x4.mul(v128.load(pa + o), v128.load(pg + o)));
      acc1 = f32x4.add(acc1, f32x4.mul(v128.load(pa + o, 16), v128.load(pg + o, 16)));
    }
    for (; i + 4 <= L; i += 4) {
      const o = <usize>i << 2;
      acc0 = f32x4.add(acc0, f32x4.mul(v128.load(pa + o), v128.load(pg + o)));
    }
    acc0 = f32x4.add(acc0, acc1);
    let sum: f32 = f32x4.extract_lane(acc0, 0) + f32x4.extract_lane(acc0, 1) + (f32x4.extract_lane(acc0, 2) + f32x4.extract_lane(acc0, 3));
    for (; i < L; i++) {
      const o = <usize>i << 2;
      sum += load<f32>(pa + o) * load<f32>(pg + o);
    }
    store<f32>(out + (<usize>r << 2), sum);
  }
}

// dotRuns and the gv adjoint axpyRunsW(runs, r0, r1, wr, g, acc, B, 1, 0) in one pass over the
// runs (each run reads g once): out[r] = sum a[s*B ..] * g[t*B ..] (summed as dotRuns does) and
// acc[s*B ..] += wr[r] * g[t*B ..]. (Scalar tails: masked vector tails that rewrite the values
// past a run were measured 2.3x slower on runs of length 1, store-to-load forwarding stalls.)
export function dotAxpyRuns(runs: usize, r0: i32, r1: i32, wr: usize, a: usize, g: usize, acc: usize, B: i32, out: usize): void {
  for (let r = r0; r < r1; r++) {
    const rec = runs + (<usize>r << 4);
    const so = <usize>(load<i32>(rec) * B) << 2;
    const pa = a + so;
    const py = acc + so;
    const pg = g + (<usize>(load<i32>(rec, 4) * B) << 2);
    const L = load<i32>(rec, 8) * B;
    const wv = load<f32>(wr + (<usize>r << 2));
    const ws = f32x4.splat(wv);
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    let i = 0;
    for (; i + 8 <= L; i += 8) {
      const o = <usize>i << 2;
      const g0 = v128.load(pg + o);
      const g1 = v128.load(pg + o, 16);
      acc0 = f32x4.add(acc0, f32x4.mul(v128.load(pa + o), g0));
      acc1 = f32x4.add(acc1, f32x4.mul(v128.load(pa + o, 16), g1));
      v128.store(py + o, f32x4.add(v128.load(py + o), f32x4.mul(ws, g0)));
      v128.store(py + o, f32x4.add(v128.load(py + o, 16), f32x4.mul(ws, g1)), 16);
    }
    for (; i + 4 <= L; i += 4) {
      const o = <usize>i << 2;
      const g0 = v128.load(pg + o);
      acc0 = f32x4.add(acc0, f32x4.mul(v128.load(pa + o), g0));
      v128.store(py + o, f32x4.add(v128.load(py + o), f32x4.mul(ws, g0)));
    }
    acc0 = f32x4.add(acc0, acc1);
    let sum: f32 = f32x4.extract_lane(acc0, 0) + f32x4.extract_lane(acc0, 1) + (f32x4.extract_lane(acc0, 2) + f32x4.extract_lane(acc0, 3));
    for (; i < L; i++) {
      const o = <usize>i << 2;
      const gi = load<f32>(pg + o);
      sum += load<f32>(pa + o) * gi;
      store<f32>(py + o, load<f32>(py + o) + wv * gi);
    }
    store<f32>(out + (<usize>r << 2), sum);
  }
}

// acc[group[r]] += dot[r] for r < n (f64 accumulators, as the per-group reduction in JS).
export function reduceGroups(dot: usize, group: usize, n: i32, acc: usize): void {
  for (let r = 0; r < n; r++) {
    const pa = acc + (<usize>load<i32>(group + (<usize>r << 2)) << 3);
    store<f64>(pa, load<f64>(pa) + <f64>load<f32>(dot + (<usize>r << 2)));
  }
}

// gw[e0 + i] += sum_b a[(s0+i)*B + b] * g[(t0+i)*B + b] (per-edge weight gradient).
export function gwRuns(runs: usize, r0: i32, r1: i32, a: usize, g: usize, B: i32, gw: usize): void {
  for (let r = r0; r < r1; r++) {
    const rec = runs + (<usize>r << 4);
    const pa = a + (<usize>(load<i32>(rec) * B) << 2);
    const pg = g + (<usize>(load<i32>(rec, 4) * B) << 2);
    const len = load<i32>(rec, 8);
    const pw = gw + (<usize>load<i32>(rec, 12) << 2);
    if (B == 1) {
      let i = 0;
      for (; i + 4 <= len; i += 4) {
        const o = <usize>i << 2;
        v128.store(pw + o, f32x4.add(v128.load(pw + o), f32x4.mul(v128.load(pa + o), v128.load(pg + o))));
      }
      for (; i < len; i++) {
        const o = <usize>i << 2;
        store<f32>(pw + o, load<f32>(pw + o) + load<f32>(pa + o) * load<f32>(pg + o));
      }
    } else if (B == 4) {
      for (let i = 0; i < len; i++) {
        const o = <usize>i << 4;
        const p = f32x4.mul(v128.load(pa + o), v128.load(pg + o));
        const q = <usize>i << 2;
        store<f32>(pw + q, load<f32>(pw + q) + ((f32x4.extract_lane(p, 0) + f32x4.extract_lane(p, 1)) + (f32x4.extract_lane(p, 2) + f32x4.extract_lane(p, 3))));
      }
    } else {
      for (let i = 0; i < len; i++) {
        const base = <usize>(i * B) << 2;
        let sum: f32 = 0;
        for (let j = 0; j < B; j++) {
          const o = base + (<usize>j << 2);
          sum += load<f32>(pa + o) * load<f32>(pg + o);
        }
        const q = <usize>i << 2;
        store<f32>(pw + q, load<f32>(pw + q) + sum);
      }
    }
  }
}

// Stores the transpose of the 4x4 block with rows a0..a3 as 4 rows at y, y + stride, ...
@inline function transpose4(a0: v128, a1: v128, a2: v128, a3: v128, y: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  v128.store(y, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(y + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(y + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(y + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

// y[n*B + b] = x[b*N + n] for nodes n0..n1 (batch-major to node-major), with relu when relu != 0.
export function toNodeMajor(x: usize, y: usize, N: i32, B: i32, n0: i32, n1: i32, relu: i32): void {
  if (B == 1) {
    let n = n0;
    if (relu != 0) {
      const z = f32x4.splat(0);
      for (; n + 4 <= n1; n += 4) {
        const o = <usize>n << 2;
        v128.store(y + o, f32x4.pmax(z, v128.load(x + o))); // pmax(0, v) = 0 < v ? v : 0, as the scalar path
      }
      for (; n < n1; n++) {
        const o = <usize>n << 2;
        const v = load<f32>(x + o);
        store<f32>(y + o, v > 0 ? v : 0);
      }
    } else {
      memory.copy(y + (<usize>n0 << 2), x + (<usize>n0 << 2), <usize>(n1 - n0) << 2);
    }
    return;
  }
  if (B == 4) {
    const z = f32x4.splat(0);
    const r1 = <usize>N << 2;
    let n = n0;
    for (; n + 4 <= n1; n += 4) {
      const px = x + (<usize>n << 2);
      let a0 = v128.load(px);
      let a1 = v128.load(px + r1);
      let a2 = v128.load(px + 2 * r1);
      let a3 = v128.load(px + 3 * r1);
      if (relu != 0) {
        a0 = f32x4.pmax(z, a0);
        a1 = f32x4.pmax(z, a1);
        a2 = f32x4.pmax(z, a2);
        a3 = f32x4.pmax(z, a3);
      }
      transpose4(a0, a1, a2, a3, y + (<usize>n << 4), 16);
    }
    n0 = n; // the tail below
  }
  for (let b = 0; b < B; b++) {
    const px = x + (<usize>(b * N) << 2);
    for (let n = n0; n < n1; n++) {
      const v = load<f32>(px + (<usize>n << 2));
      store<f32>(y + (<usize>(n * B + b) << 2), relu != 0 && !(v > 0) ? 0 : v);
    }
  }
}

// y[b*N + n] = x[n*B + b] for nodes n0..n1 (node-major to batch-major).
export function toBatchMajor(x: usize, y: usize, N: i32, B: i32, n0: i32, n1: i32): void {
  if (B == 1) {
    memory.copy(y + (<usize>n0 << 2), x + (<usize>n0 << 2), <usize>(n1 - n0) << 2);
    return;
  }
  if (B == 4) {
    const r1 = <usize>N << 2;
    let n = n0;
    for (; n + 4 <= n1; n += 4) {
      const px = x + (<usize>n << 4);
      transpose4(v128.load(px), v128.load(px, 16), v128.load(px, 32), v128.load(px, 48), y + (<usize>n << 2), r1);
    }
    n0 = n;
  }
  for (let b = 0; b < B; b++) {
    const py = y + (<usize>(b * N) << 2);
    for (let n = n0; n < n1; n++) store<f32>(py + (<usize>n << 2), load<f32>(x + (<usize>(n * B + b) << 2)));
  }
}

// gv[b*N + n] += d[b*N + n] * acc[n*B + b] for nodes n0..n1; relu when relu != 0 (d = v, factor v > 0).
export function finishGv(d: usize, acc: usize, gv: usize, N: i32, B: i32, n0: i32, n1: i32, relu: i32): void {
  for (let b = 0; b < B; b++) {
    const off = <usize>(b * N) << 2;
    for (let n = n0; n < n1; n++) {
      const o = off + (<usize>n << 2);
      const x = load<f32>(acc + (<usize>(n * B + b) << 2));
      const dv = load<f32>(d + o);
      const f: f32 = relu != 0 ? (dv > 0 ? 1 : 0) : dv;
      store<f32>(gv + o, load<f32>(gv + o) + f * x);
    }
  }
}

// ---- the fused Euler step (euler.ts, in f64 lanes as there, so results match it exactly) ----
// Batch-major arrays (b*N + n), per-node bias and r; vectors of 4 nodes, then a scalar tail.

@inline function lo(a: v128): v128 {
  return f64x2.promote_low_f32x4(a);
}
@inline function hi(a: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 2, 3));
}
@inline function pack(l: v128, h: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(l), f32x4.demote_f64x2_zero(h), 0, 1, 4, 5);
}
// v + r * (bias - v + s + x) on f64 lanes
@inline function upd(v: v128, r: v128, bias: v128, s: v128, x: v128): v128 {
  return f64x2.add(v, f64x2.mul(r, f64x2.add(f64x2.add(f64x2.sub(bias, v), s), x)));
}

// out = v + r * (bias - v + syn + x) (euler.ts eulerForward). Nodes outer (4 at a time), samples
// inner, so bias and r are widened once per 4 nodes.
export function eulerUpdate(syn: usize, v: usize, x: usize, bias: usize, r: usize, out: usize, N: i32, B: i32): void {
  const row = <usize>N << 2;
  let n = 0;
  for (; n + 4 <= N; n += 4) {
    const o = <usize>n << 2;
    const Bi = v128.load(bias + o);
    const R = v128.load(r + o);
    const bl = lo(Bi), bh = hi(Bi), rl = lo(R), rh = hi(R);
    let i = o;
    for (let b = 0; b < B; b++, i += row) {
      const S = v128.load(syn + i);
      const V = v128.load(v + i);
      const X = v128.load(x + i);
      v128.store(out + i, pack(upd(lo(V), rl, bl, lo(S), lo(X)), upd(hi(V), rh, bh, hi(S), hi(X))));
    }
  }
  for (; n < N; n++) {
    const o = <usize>n << 2;
    const bn = <f64>load<f32>(bias + o);
    const rn = <f64>load<f32>(r + o);
    let i = o;
    for (let b = 0; b < B; b++, i += row) {
      const vi = <f64>load<f32>(v + i);
      store<f32>(out + i, <f32>(vi + rn * (bn - vi + <f64>load<f32>(syn + i) + <f64>load<f32>(x + i))));
    }
  }
}

// gs = f32(g * r) (the fused Euler VJP's gradient into syn).
export function eulerGs(g: usize, r: usize, gs: usize, N: i32, B: i32): void {
  for (let b = 0; b < B; b++) {
    const off = <usize>(b * N) << 2;
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      const o = <usize>n << 2;
      const G = v128.load(g + off + o);
      const R = v128.load(r + o);
      v128.store(gs + off + o, pack(f64x2.mul(lo(G), lo(R)), f64x2.mul(hi(G), hi(R))));
    }
    for (; n < N; n++) {
      const o = <usize>n << 2;
      store<f32>(gs + off + o, <f32>(<f64>load<f32>(g + off + o) * <f64>load<f32>(r + o)));
    }
  }
}

// The rest of the fused Euler VJP (euler.ts eulerBackward, then finishGv), with gr = g r (f64):
// gv = f32(g - gr) + act'(v) * acc (f32 ops, as finishGv; no acc term when acc == 0; gv may alias
// acc), gX = f32(gr) (may alias s), gBias[n] = sum_b gr, gR[n] = sum_b g (bias - v + s + x)
// (f32 accumulators rounded after each sample, f64 terms). Outputs at 0 are skipped. d = v
// (relu != 0) or act'(v). Nodes outer (4 at a time), samples inner.
export function eulerGrad(g: usize, v: usize, s: usize, x: usize, bias: usize, r: usize, d: usize, acc: usize, gv: usize, gX: usize, gBias: usize, gR: usize, N: i32, B: i32, relu: i32): void {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  const row = <usize>N << 2;
  let n = 0;
  for (; n + 4 <= N; n += 4) {
    const o = <usize>n << 2;
    const R = v128.load(r + o);
    const Bi = v128.load(bias + o);
    const rl = lo(R), rh = hi(R), bl = lo(Bi), bh = hi(Bi);
    let sb = zero;
    let sr = zero;
    let i = o;
    for (let b = 0; b < B; b++, i += row) {
      const G = v128.load(g + i);
      const gl = lo(G);
      const gh = hi(G);
      const grl = f64x2.mul(gl, rl);
      const grh = f64x2.mul(gh, rh);
      if (gv != 0) {
        let out = pack(f64x2.sub(gl, grl), f64x2.sub(gh, grh));
        if (acc != 0) {
          const D = v128.load(d + i);
          const f = relu != 0 ? v128.and(f32x4.gt(D, zero), one) : D;
          out = f32x4.add(out, f32x4.mul(f, v128.load(acc + i)));
        }
        v128.store(gv + i, out);
      }
      const V = v128.load(v + i);
      const S = v128.load(s + i);
      const X = v128.load(x + i);
      const tl = f64x2.mul(gl, f64x2.add(f64x2.add(f64x2.sub(bl, lo(V)), lo(S)), lo(X)));
      const th = f64x2.mul(gh, f64x2.add(f64x2.add(f64x2.sub(bh, hi(V)), hi(S)), hi(X)));
      const gr32 = pack(grl, grh);
      if (b == 0) {
        // 0 + t rounds as t alone
        sb = gr32;
        sr = pack(tl, th);
      } else {
        sb = pack(f64x2.add(lo(sb), grl), f64x2.add(hi(sb), grh));
        sr = pack(f64x2.add(lo(sr), tl), f64x2.add(hi(sr), th));
      }
      if (gX != 0) v128.store(gX + i, gr32);
    }
    if (gBias != 0) v128.store(gBias + o, sb);
    if (gR != 0) v128.store(gR + o, sr);
  }
  for (; n < N; n++) {
    const o = <usize>n << 2;
    const rn = <f64>load<f32>(r + o);
    const bn = <f64>load<f32>(bias + o);
    let sb: f32 = 0;
    let sr: f32 = 0;
    let i = o;
    for (let b = 0; b < B; b++, i += row) {
      const gi = <f64>load<f32>(g + i);
      const gr = gi * rn;
      if (gv != 0) {
        let out = <f32>(gi - gr);
        if (acc != 0) {
          const dv = load<f32>(d + i);
          const f: f32 = relu != 0 ? (dv > 0 ? 1 : 0) : dv;
          out = out + f * load<f32>(acc + i);
        }
        store<f32>(gv + i, out);
      }
      const t = gi * (bn - <f64>load<f32>(v + i) + <f64>load<f32>(s + i) + <f64>load<f32>(x + i));
      sb = <f32>(<f64>sb + gr);
      sr = <f32>(<f64>sr + t);
      if (gX != 0) store<f32>(gX + i, <f32>gr);
    }
    if (gBias != 0) store<f32>(gBias + o, sb);
    if (gR != 0) store<f32>(gR + o, sr);
  }
}

export function zero(p: usize, bytes: usize): void {
  memory.fill(p, 0, bytes);
}
`;
