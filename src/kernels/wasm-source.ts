// AssemblyScript source of the 'wasm' kernel's module (f32x4 SIMD), kept as a string so that
// it stays out of the TypeScript project; wasm-build.ts compiles it with the pinned
// `assemblyscript` (npm run build:wasm, or automatically at first use).
//
// Memory is imported (shared, so worker threads can run the same module on it); every
// argument is a byte offset into it. Layouts: x, y, a, g, acc are node-major (n * B + b), so a
// run (s0, t0, len) covers the contiguous ranges [s0 * B, (s0 + len) * B) and [t0 * B, ...).
// A run record is 4 int32: s0, t0, len, e0 (first original edge). Functions take a run range
// [r0, r1) so that threads can split the work.
export const WASM_SOURCE_VERSION = 10;

/**
 * f32x4 vectors of a stencil tile at most, forward and adjoint (the layout's tiles,
 * src/backends/wasm-layout.ts; a loop below for each width up to these). A tile's outputs stay in
 * registers while its taps stream, and x64 has 16 vector registers: 8 accumulators spill in V8's
 * code (7 vectors measured 15 % faster forward than 8), and the adjoint also keeps the tile's
 * activities (4 vectors measured 20 % faster than 8, 10 % faster than 5).
 */
export const FORWARD_TILE_VECTORS = 7;
export const ADJOINT_TILE_VECTORS = 4;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
/** The widths FORWARD_TILE_VECTORS, ..., 1 (or ADJOINT_...). */
const widths = (max: number): number[] => range(max).map((i) => max - i);

/** The stencil's loop for tiles of nv f32x4 outputs (accumulators in registers). */
function axpyCase(nv: number): string {
  const r = range(nv);
  return `        case ${nv}: {
          ${r.map((i) => `let a${i} = v128.load(py, ${16 * i});`).join(' ')}
          for (let j = 0; j < nt; j++) {
            const tp = tp0 + (<usize>j << 3);
            const px = px0 + (<usize>load<i32>(tp) << 2);
            const w = f32x4.splat(load<f32>(tp, 4));
            ${r.map((i) => `a${i} = f32x4.add(a${i}, f32x4.mul(w, v128.load(px, ${16 * i})));`).join('\n            ')}
          }
          ${r.map((i) => `v128.store(py, a${i}, ${16 * i});`).join(' ')}
          break;
        }
`;
}

/** A balanced sum of the terms (a tree of f32x4.add). */
function addTree(terms: string[]): string {
  if (terms.length === 1) return terms[0]!;
  const h = Math.ceil(terms.length / 2);
  return `f32x4.add(${addTree(terms.slice(0, h))}, ${addTree(terms.slice(h))})`;
}

/** The adjoint stencil's loop for tiles of nv vectors: the outputs in registers, each tap's dot product added to its lanes in dot. */
function dotCase(nv: number): string {
  const r = range(nv);
  return `        case ${nv}: {
          ${r.map((i) => `let y${i} = v128.load(py, ${16 * i});`).join(' ')}
          ${r.map((i) => `const A${i} = v128.load(pa, ${16 * i});`).join(' ')}
          for (let j = 0; j < nt; j++) {
            const tp = tp0 + (<usize>j << 3);
            const pg = pg0 + (<usize>load<i32>(tp) << 2);
            const w = f32x4.splat(load<f32>(tp, 4));
            ${r.map((i) => `const G${i} = v128.load(pg, ${16 * i});`).join(' ')}
            ${r.map((i) => `y${i} = f32x4.add(y${i}, f32x4.mul(w, G${i}));`).join('\n            ')}
            const pd = dp0 + (<usize>j << 4);
            v128.store(pd, f32x4.add(v128.load(pd), ${addTree(r.map((i) => `f32x4.mul(A${i}, G${i})`))}));
          }
          ${r.map((i) => `v128.store(py, y${i}, ${16 * i});`).join(' ')}
          break;
        }
`;
}

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

// f32x4 <-> two f64x2 halves (the scan's Euler update runs on f64 lanes, as ppneuron-step.ts)
@inline function lo(a: v128): v128 {
  return f64x2.promote_low_f32x4(a);
}
@inline function hi(a: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 2, 3));
}
@inline function pack(l: v128, h: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(l), f32x4.demote_f64x2_zero(h), 0, 1, 4, 5);
}

export function zero(p: usize, bytes: usize): void {
  memory.fill(p, 0, bytes);
}

// ---- the 'wasm' backend's resident scan (src/backends/wasm.ts) ----
// A whole chunk of Euler steps of the 'ppneuron' model (src/dynamics/ppneuron-step.ts) for one
// sample per call (a batch runs sample after sample: one sample's buffers stay in the L2 cache),
// on state that stays in this memory. Nodes have two layouts: compact (the network's node
// order: state, input, synaptic input) and padded (each cell type on a rectangle of its lattice
// with zero margins, so every edge group is one stencil tap or a few long runs). Segments (c0,
// p0, len) map compact ranges to padded ones. Runs are records (s0, t0, len, id) in padded
// coordinates with one weight each. With two threads, each runs this on its own parameter
// block (its runs, stencil blocks and segments) and they meet at one barrier per step; buffers
// written in one step and read by the other thread are double-buffered.

// parameter block (i32 words; the activation parameters are f64 at words 24 and 26)
@inline function pw(pb: usize, k: i32): i32 { return load<i32>(pb + (<usize>k << 2)); }
@inline function pp(pb: usize, k: i32): usize { return <usize>load<i32>(pb + (<usize>k << 2)); }

// activation id: 0 relu, 1 leakyrelu (a = slope), 2 elu (a = alpha), 3 softplus (a = beta,
// t = threshold), 4 sigmoid, 5 tanh; in doubles as src/kernels/activation.ts
@inline function actF(x: f64, id: i32, a: f64, t: f64): f64 {
  if (id == 0) return x > 0 ? x : 0;
  if (id == 1) return x > 0 ? x : a * x;
  if (id == 2) return x > 0 ? x : a * Math.expm1(x);
  if (id == 3) return a * x > t ? x : Math.log1p(Math.exp(a * x)) / a;
  if (id == 4) return 1 / (1 + Math.exp(-x));
  return Math.tanh(x);
}
@inline function actD(x: f64, id: i32, a: f64, t: f64): f64 {
  if (id == 0) return x > 0 ? 1 : 0;
  if (id == 1) return x > 0 ? 1 : a;
  if (id == 2) return x > 0 ? 1 : a * Math.exp(x);
  if (id == 3) return a * x > t ? 1 : 1 / (1 + Math.exp(-a * x));
  if (id == 4) {
    const y = 1 / (1 + Math.exp(-x));
    return y * (1 - y);
  }
  const y = Math.tanh(x);
  return 1 - y * y;
}

// act[p0 + i] = f(v[c0 + i]) over the segments (padding is never written: it stays 0).
function actSegs(v: usize, act: usize, segs: usize, nSegs: i32, id: i32, a: f64, t: f64): void {
  for (let k = 0; k < nSegs; k++) {
    const sg = segs + <usize>k * 12;
    const src = v + (<usize>load<i32>(sg) << 2);
    const dst = act + (<usize>load<i32>(sg, 4) << 2);
    const len = load<i32>(sg, 8);
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      v128.store(dst + o, actV(v128.load(src + o), id, a, t));
    }
    for (; i < len; i++) {
      const o = <usize>i << 2;
      store<f32>(dst + o, <f32>actF(<f64>load<f32>(src + o), id, a, t));
    }
  }
}

// y[dst ..] += wr[r] * x[src ..] over runs (src, dst: record fields 0/1 or 1/0)
function runsAxpy(runs: usize, n: i32, wr: usize, x: usize, y: usize, srcF: i32, dstF: i32): void {
  for (let r = 0; r < n; r++) {
    const rec = runs + (<usize>r << 4);
    const px = x + (<usize>load<i32>(rec + (<usize>srcF << 2)) << 2);
    const py = y + (<usize>load<i32>(rec + (<usize>dstF << 2)) << 2);
    const L = load<i32>(rec, 8);
    const wv = load<f32>(wr + (<usize>r << 2));
    const ws = f32x4.splat(wv);
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

// The adjoint runs: y[s ..] += wr[r] * g[t ..] and runAcc[r] += a[s ..] . g[t ..] (f32 lanes, then f64).
function runsDotAxpy(runs: usize, n: i32, wr: usize, a: usize, g: usize, y: usize, runAcc: usize): void {
  for (let r = 0; r < n; r++) {
    const rec = runs + (<usize>r << 4);
    const so = <usize>load<i32>(rec) << 2;
    const pa = a + so;
    const py = y + so;
    const pg = g + (<usize>load<i32>(rec, 4) << 2);
    const L = load<i32>(rec, 8);
    const wv = load<f32>(wr + (<usize>r << 2));
    const ws = f32x4.splat(wv);
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    let tail: f32 = 0;
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
    for (; i < L; i++) {
      const o = <usize>i << 2;
      const gi = load<f32>(pg + o);
      tail += load<f32>(pa + o) * gi;
      store<f32>(py + o, load<f32>(py + o) + wv * gi);
    }
    acc0 = f32x4.add(acc0, acc1);
    const sum: f32 = f32x4.extract_lane(acc0, 0) + f32x4.extract_lane(acc0, 1) + (f32x4.extract_lane(acc0, 2) + f32x4.extract_lane(acc0, 3)) + tail;
    const pr = runAcc + (<usize>r << 3);
    store<f64>(pr, load<f64>(pr) + <f64>sum);
  }
}

// The stencil (src/backends/wasm-layout.ts): for each block (tile0, nTiles, tap0, nTaps) and each
// of its tiles (start, nv), y[start + i] += sum over the block's taps (off, w) of w * x[start + i +
// off], i < 4 nv: the tile's nv f32x4 outputs stay in registers while every tap streams its
// inputs (one loop per tile width, generated: axpyCase).
function stencilAxpy(blocks: usize, nBlocks: i32, tiles: usize, taps: usize, x: usize, y: usize): void {
  for (let k = 0; k < nBlocks; k++) {
    const bl = blocks + (<usize>k << 4);
    const ti0 = load<i32>(bl);
    const nTl = load<i32>(bl, 4);
    const tp0 = taps + (<usize>load<i32>(bl, 8) << 3);
    const nt = load<i32>(bl, 12);
    for (let ti = ti0; ti < ti0 + nTl; ti++) {
      const tr = tiles + (<usize>ti << 3);
      const o = <usize>load<i32>(tr) << 2;
      const py = y + o;
      const px0 = x + o;
      switch (load<i32>(tr, 4)) {
${widths(FORWARD_TILE_VECTORS).map(axpyCase).join('')}
        default: unreachable(); // a tile wider than the layout makes
      }
    }
  }
}

// The adjoint stencil with the taps' weight gradients, over the same tiles: y[i] += sum_taps w
// g[i + off] and, per tap, tapAcc[tap] += sum_i a[i] g[i + off] (f32 lanes per block in dot, 16
// bytes per tap, then f64).
function stencilDotAxpy(blocks: usize, nBlocks: i32, tiles: usize, taps: usize, nTaps: i32, a: usize, g: usize, y: usize, dot: usize, tapAcc: usize): void {
  memory.fill(dot, 0, <usize>nTaps << 4);
  for (let k = 0; k < nBlocks; k++) {
    const bl = blocks + (<usize>k << 4);
    const ti0 = load<i32>(bl);
    const nTl = load<i32>(bl, 4);
    const t0 = load<i32>(bl, 8);
    const tp0 = taps + (<usize>t0 << 3);
    const dp0 = dot + (<usize>t0 << 4);
    const nt = load<i32>(bl, 12);
    for (let ti = ti0; ti < ti0 + nTl; ti++) {
      const tr = tiles + (<usize>ti << 3);
      const o = <usize>load<i32>(tr) << 2;
      const py = y + o;
      const pa = a + o;
      const pg0 = g + o;
      switch (load<i32>(tr, 4)) {
${widths(ADJOINT_TILE_VECTORS).map(dotCase).join('')}
        default: unreachable();
      }
    }
  }
  for (let j = 0; j < nTaps; j++) {
    const D = v128.load(dot + (<usize>j << 4));
    const pt = tapAcc + (<usize>j << 3);
    store<f64>(pt, load<f64>(pt) + <f64>(f32x4.extract_lane(D, 0) + f32x4.extract_lane(D, 1) + (f32x4.extract_lane(D, 2) + f32x4.extract_lane(D, 3))));
  }
}

// f(x) of 4 f32 lanes: relu on the lanes, the other activations per lane in doubles (actF).
@inline function actV(x: v128, id: i32, a: f64, t: f64): v128 {
  if (id == 0) return f32x4.pmax(f32x4.splat(0), x); // pmax(0, v) = 0 < v ? v : 0, as actF
  let r = f32x4.splat(<f32>actF(<f64>f32x4.extract_lane(x, 0), id, a, t));
  r = f32x4.replace_lane(r, 1, <f32>actF(<f64>f32x4.extract_lane(x, 1), id, a, t));
  r = f32x4.replace_lane(r, 2, <f32>actF(<f64>f32x4.extract_lane(x, 2), id, a, t));
  return f32x4.replace_lane(r, 3, <f32>actF(<f64>f32x4.extract_lane(x, 3), id, a, t));
}

// out[c] = v + r d with d = bias - v + acc[p] + x (f64 lanes, as ppneuron-step.ts); s[c] = f32(d)
// (what the VJP needs of this step besides v) when s != 0; acc[p] = 0 (ready for the next step:
// only real positions are ever read, so only they are cleared); act[p] = f(out[c]) (the next
// step's activity) when act != 0. Returns a probe that is NaN when some output is not finite
// (out - out is 0 or NaN), else 0.
function eulerSegs(v: usize, acc: usize, x: usize, bias: usize, rate: usize, out: usize, s: usize, act: usize,
    segs: usize, nSegs: i32, id: i32, a: f64, t: f64): f32 {
  let probe = f32x4.splat(0);
  let probeS: f32 = 0;
  for (let k = 0; k < nSegs; k++) {
    const sg = segs + <usize>k * 12;
    const c0 = <usize>load<i32>(sg) << 2;
    const p0 = <usize>load<i32>(sg, 4) << 2;
    const len = load<i32>(sg, 8);
    const pv = v + c0, px = x + c0, po = out + c0, pa = acc + p0;
    const pbi = bias + c0, pr = rate + c0;
    const ps = s != 0 ? s + c0 : 0;
    const pn = act != 0 ? act + p0 : 0;
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      const V = v128.load(pv + o), A = v128.load(pa + o), X = v128.load(px + o), Bi = v128.load(pbi + o), R = v128.load(pr + o);
      const vl = lo(V), vh = hi(V);
      const dl = f64x2.add(f64x2.add(f64x2.sub(lo(Bi), vl), lo(A)), lo(X));
      const dh = f64x2.add(f64x2.add(f64x2.sub(hi(Bi), vh), hi(A)), hi(X));
      const O = pack(f64x2.add(vl, f64x2.mul(lo(R), dl)), f64x2.add(vh, f64x2.mul(hi(R), dh)));
      v128.store(po + o, O);
      v128.store(pa + o, f32x4.splat(0));
      probe = f32x4.add(probe, f32x4.sub(O, O));
      if (ps != 0) v128.store(ps + o, pack(dl, dh));
      if (pn != 0) v128.store(pn + o, actV(O, id, a, t));
    }
    for (; i < len; i++) {
      const o = <usize>i << 2;
      const vi = <f64>load<f32>(pv + o);
      const d = <f64>load<f32>(pbi + o) - vi + <f64>load<f32>(pa + o) + <f64>load<f32>(px + o);
      const out32 = <f32>(vi + <f64>load<f32>(pr + o) * d);
      store<f32>(po + o, out32);
      store<f32>(pa + o, 0);
      probeS += out32 - out32;
      if (ps != 0) store<f32>(ps + o, <f32>d);
      if (pn != 0) store<f32>(pn + o, <f32>actF(<f64>out32, id, a, t));
    }
  }
  return f32x4.extract_lane(probe, 0) + f32x4.extract_lane(probe, 1) + f32x4.extract_lane(probe, 2) + f32x4.extract_lane(probe, 3) + probeS;
}

// The backward pass's node work at the state between steps k-1 and k, in one pass over the
// segments: finishing step k, then starting step k-1.
// - Finish (vf != 0, vf = V[k], the state before step k): gf = f32(gvd[c] + f'(vf[c]) acc[p]),
//   acc[p] = 0; else (vf == 0) gf = gc[c]. gf is the gradient of the state before step k.
// - Start (v != 0, v = V[k-1]): g = gf (+ go[c] when go != 0, the output's gradient there),
//   gr = g r (f64): gs[p] = f32(gr), gvd[c] = f32(g - gr), gBias[c] += gr, gR[c] += g dd[c]
//   (dd = bias - v + syn + x of step k-1, saved by the forward pass; f64 accumulators),
//   gX[c] = f32(gr) when gX != 0, act[p] = f(v[c]); else (v == 0) gc[c] = gf.
// relu runs on f32x4 lanes (bit for bit the doubles' results: f' is 0 or 1, and a sum of two
// floats rounded to double then to float is the float sum); the other activations per element.
function backSegs(vf: usize, acc: usize, gc: usize, go: usize, v: usize, dd: usize, rate: usize, gvd: usize, gs: usize,
    gBias: usize, gR: usize, gX: usize, act: usize, segs: usize, nSegs: i32, id: i32, a: f64, t: f64): void {
  const z = f32x4.splat(0);
  const one = f32x4.splat(1);
  for (let k = 0; k < nSegs; k++) {
    const sg = segs + <usize>k * 12;
    const c0 = <usize>load<i32>(sg) << 2; // byte offsets of the segment, compact and padded
    const p0 = <usize>load<i32>(sg, 4) << 2;
    const len = load<i32>(sg, 8);
    let i = 0;
    if (id == 0) {
      for (; i + 4 <= len; i += 4) {
        const ci = c0 + (<usize>i << 2);
        const pi = p0 + (<usize>i << 2);
        let G: v128;
        if (vf != 0) {
          const D = v128.and(f32x4.gt(v128.load(vf + ci), z), one);
          G = f32x4.add(v128.load(gvd + ci), f32x4.mul(D, v128.load(acc + pi)));
          v128.store(acc + pi, z);
        } else G = v128.load(gc + ci);
        if (v == 0) {
          v128.store(gc + ci, G);
          continue;
        }
        if (go != 0) G = f32x4.add(G, v128.load(go + ci));
        const R = v128.load(rate + ci);
        const gl = lo(G), gh = hi(G);
        const rl = f64x2.mul(gl, lo(R)), rh = f64x2.mul(gh, hi(R));
        const GR = pack(rl, rh);
        v128.store(gs + pi, GR);
        v128.store(gvd + ci, pack(f64x2.sub(gl, rl), f64x2.sub(gh, rh)));
        const pB = gBias + (ci << 1);
        v128.store(pB, f64x2.add(v128.load(pB), rl));
        v128.store(pB, f64x2.add(v128.load(pB, 16), rh), 16);
        const Dd = v128.load(dd + ci);
        const pR = gR + (ci << 1);
        v128.store(pR, f64x2.add(v128.load(pR), f64x2.mul(gl, lo(Dd))));
        v128.store(pR, f64x2.add(v128.load(pR, 16), f64x2.mul(gh, hi(Dd))), 16);
        if (gX != 0) v128.store(gX + ci, GR);
        v128.store(act + pi, f32x4.pmax(z, v128.load(v + ci)));
      }
    }
    for (; i < len; i++) {
      const ci = c0 + (<usize>i << 2);
      const pi = p0 + (<usize>i << 2);
      let gf: f32;
      if (vf != 0) {
        gf = <f32>(<f64>load<f32>(gvd + ci) + actD(<f64>load<f32>(vf + ci), id, a, t) * <f64>load<f32>(acc + pi));
        store<f32>(acc + pi, 0);
      } else gf = load<f32>(gc + ci);
      if (v == 0) {
        store<f32>(gc + ci, gf);
        continue;
      }
      if (go != 0) gf = gf + load<f32>(go + ci);
      const g = <f64>gf;
      const gr = g * <f64>load<f32>(rate + ci);
      store<f32>(gs + pi, <f32>gr);
      store<f32>(gvd + ci, <f32>(g - gr));
      const pB = gBias + (ci << 1);
      store<f64>(pB, load<f64>(pB) + gr);
      const pR = gR + (ci << 1);
      store<f64>(pR, load<f64>(pR) + g * <f64>load<f32>(dd + ci));
      if (gX != 0) store<f32>(gX + ci, <f32>gr);
      store<f32>(act + pi, <f32>actF(<f64>load<f32>(v + ci), id, a, t));
    }
  }
}

// Two threads meet here once per step: a counter and a generation word at bar. Spins first (a
// step takes a fraction of a millisecond), then waits; traps if the other side never comes.
function barrier(bar: usize, nth: i32): void {
  if (nth <= 1) return;
  const gen = atomic.load<i32>(bar, 4);
  if (atomic.add<i32>(bar, 1) == nth - 1) {
    atomic.store<i32>(bar, 0);
    atomic.store<i32>(bar, gen + 1, 4);
    atomic.notify(bar + 4, nth);
    return;
  }
  let spins = 0;
  let waits = 0;
  while (atomic.load<i32>(bar, 4) == gen) {
    if (++spins < 20000) continue; // then yield the core: the other thread may be waiting for it
    if (atomic.wait<i32>(bar + 4, gen, 1000000000) == AtomicWaitResult.TIMED_OUT && ++waits >= 10) unreachable();
  }
}

// Parameter block words (mirrored in src/backends/wasm.ts), one sample per call:
//  0 (unused), 1 N, 2 P, 3 K (steps), 4 activation id, 5 flags (1: save s, 4: gW), 6 nThreads,
//  7 barrier, 8 vIn (N), 9 V (K*N), 10 X (K*N), 11 S (K*N), 12 bias, 13 rate,
//  14 act0, 15 act1 (P), 16 acc (P), 17 runs, 18 nRuns, 19 wr, 20 segs, 21 nSegs, 22 lo, 23 hi,
//  24-25 activation parameter a (f64), 26-27 activation parameter t (f64),
//  28 G (gOut, K*N, or 0), 29 gc (N), 30 gvd (N), 31 gs0, 32 gs1 (P), 33 runAcc (f64 per run),
//  34 gBias (f64, N), 35 gR (f64, N), 36 GX (K*N or 0), 37 (out, f32) forward: NaN when a state was not finite,
//  38 stencil blocks, 39 nBlocks, 40 taps (off i32, w f32), 41 dot (16 bytes per tap), 42 tapAcc (f64 per tap), 43 nTaps,
//  44 stencil tiles (start, nv)

// K steps forward: V[k] = step(V[k-1]) with V[-1] = vIn (and S[k] = d of the step when saving).
// acc must hold zeros at the real positions on entry (it does after every scan). Each step's
// Euler update also writes the next step's activity, so a step is one pass over the nodes
// after the synapses, and the threads meet once per step (after it: the next stencil reads
// every thread's activity).
export function scanForward(pb: usize): void {
  const N = pw(pb, 1), K = pw(pb, 3), id = pw(pb, 4), flags = pw(pb, 5), nth = pw(pb, 6);
  const bar = pp(pb, 7), vIn = pp(pb, 8), V = pp(pb, 9), X = pp(pb, 10), S = pp(pb, 11), bias = pp(pb, 12), rate = pp(pb, 13);
  const act0 = pp(pb, 14), act1 = pp(pb, 15), acc = pp(pb, 16), runs = pp(pb, 17), nRuns = pw(pb, 18), wr = pp(pb, 19);
  const segs = pp(pb, 20), nSegs = pw(pb, 21);
  const a = load<f64>(pb, 96), t = load<f64>(pb, 104);
  const blocks = pp(pb, 38), nBlocks = pw(pb, 39), taps = pp(pb, 40), tiles = pp(pb, 44);
  const frame = <usize>N << 2;
  let probe: f32 = 0;
  actSegs(vIn, act0, segs, nSegs, id, a, t);
  barrier(bar, nth);
  for (let k = 0; k < K; k++) {
    const v = k == 0 ? vIn : V + <usize>(k - 1) * frame;
    const act = (k & 1) != 0 ? act1 : act0;
    const next = k + 1 < K ? ((k & 1) != 0 ? act0 : act1) : 0;
    stencilAxpy(blocks, nBlocks, tiles, taps, act, acc);
    runsAxpy(runs, nRuns, wr, act, acc, 0, 1);
    probe += eulerSegs(v, acc, X + <usize>k * frame, bias, rate, V + <usize>k * frame, (flags & 1) != 0 ? S + <usize>k * frame : 0, next,
      segs, nSegs, id, a, t);
    if (next != 0) barrier(bar, nth);
  }
  store<f32>(pb, probe, 148); // word 37: NaN when some state of this thread's nodes was not finite
}

// K steps backward, from the last: V[k] holds the state before step k, S[k] its d (forward),
// G[k] the output's gradient at the state after step k; gc carries the gradient of the state
// after the current step in and the gradient of the state before the first step out. Between
// two steps one pass over the nodes finishes the later and starts the earlier (backSegs); the
// threads meet after it.
export function scanBackward(pb: usize): void {
  const N = pw(pb, 1), K = pw(pb, 3), id = pw(pb, 4), flags = pw(pb, 5), nth = pw(pb, 6);
  const bar = pp(pb, 7), V = pp(pb, 9), S = pp(pb, 11), rate = pp(pb, 13);
  const act0 = pp(pb, 14), act1 = pp(pb, 15), acc = pp(pb, 16), runs = pp(pb, 17), nRuns = pw(pb, 18), wr = pp(pb, 19);
  const segs = pp(pb, 20), nSegs = pw(pb, 21);
  const a = load<f64>(pb, 96), t = load<f64>(pb, 104);
  const G = pp(pb, 28), gc = pp(pb, 29), gvd = pp(pb, 30), gs0 = pp(pb, 31), gs1 = pp(pb, 32), runAcc = pp(pb, 33);
  const gBias = pp(pb, 34), gR = pp(pb, 35), GX = pp(pb, 36);
  const blocks = pp(pb, 38), nBlocks = pw(pb, 39), taps = pp(pb, 40), dot = pp(pb, 41), tapAcc = pp(pb, 42), nTaps = pw(pb, 43), tiles = pp(pb, 44);
  const frame = <usize>N << 2;
  const wantW = (flags & 4) != 0;
  if (K <= 0) return;
  // start the last step: gc (+ G[K-1]) at V[K-1]
  let off = <usize>(K - 1) * frame;
  backSegs(0, acc, gc, G != 0 ? G + off : 0, V + off, S + off, rate, gvd, gs0, gBias, gR, GX != 0 ? GX + off : 0, act0, segs, nSegs, id, a, t);
  barrier(bar, nth);
  for (let j = 0; j < K; j++) {
    const k = K - 1 - j;
    off = <usize>k * frame;
    const act = (j & 1) != 0 ? act1 : act0;
    const gs = (j & 1) != 0 ? gs1 : gs0;
    if (wantW) {
      stencilDotAxpy(blocks, nBlocks, tiles, taps, nTaps, act, gs, acc, dot, tapAcc);
      runsDotAxpy(runs, nRuns, wr, act, gs, acc, runAcc);
    } else {
      stencilAxpy(blocks, nBlocks, tiles, taps, gs, acc);
      runsAxpy(runs, nRuns, wr, gs, acc, 1, 0);
    }
    if (k > 0) {
      const prev = off - frame;
      backSegs(V + off, acc, gc, G != 0 ? G + prev : 0, V + prev, S + prev, rate, gvd, (j & 1) != 0 ? gs0 : gs1, gBias, gR,
        GX != 0 ? GX + prev : 0, (j & 1) != 0 ? act0 : act1, segs, nSegs, id, a, t);
      barrier(bar, nth);
    } else {
      backSegs(V, acc, gc, 0, 0, 0, rate, gvd, 0, gBias, gR, 0, 0, segs, nSegs, id, a, t);
    }
  }
}
`;
