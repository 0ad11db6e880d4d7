// AssemblyScript source of the 'wasm' kernel's module (f32x4 SIMD), kept as a string so that
// it stays out of the TypeScript project; wasm-build.ts compiles it with the pinned
// `assemblyscript` (npm run build:wasm, or automatically at first use).
//
// Memory is imported (shared, so worker threads can run the same module on it); every
// argument is a byte offset into it. Layouts: x, y, a, g, acc are node-major (n * B + b), so a
// run (s0, t0, len) covers the contiguous ranges [s0 * B, (s0 + len) * B) and [t0 * B, ...).
// A run record is 4 int32: s0, t0, len, e0 (first original edge). Functions take a run range
// [r0, r1) so that threads can split the work.
export const WASM_SOURCE_VERSION = 3;

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

export function zero(p: usize, bytes: usize): void {
  memory.fill(p, 0, bytes);
}
`;
