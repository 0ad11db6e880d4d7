// AssemblyScript source of conv2dHex's WebAssembly kernels (f64x2 SIMD), kept as a string so that
// it stays out of the TypeScript project. scripts/conv2d-hex-wasm.ts compiles it with the pinned
// `assemblyscript` ahead of use into src/task/conv2d-hex-wasm-bytes.ts (the module's bytes in
// base64, which every platform instantiates synchronously); tests/task/conv2d-hex.test.ts checks
// that those bytes are this source's.
//
// The loops are those of src/task/conv2d-hex-kernels.ts (correlateSample, weightGradSample), a
// block of 8 (or 4) output channels held in 4 (or 2) f64x2 registers, channel j in lane j % 2 of
// register j / 2. Each lane adds its products in the same order as the JavaScript loop, with a
// separate multiply and add (no fused multiply-add), so the results are bitwise the same.
//
// Memory is imported (JavaScript sizes it); every pointer argument is a byte offset into it.
//   xp      padded maps (ci, hp, wp), f64
//   packed  weights, ((block * ci + c) * T + t) * B + j, f64
//   bias    (blocks * B), f64
//   offs    T tap offsets, in elements of a padded map, i32
//   out     (blocks * B, ho * wo), f64: channel-major planes
//   gt      (ho * wo, blocks * B), f64: the output gradient, pixel-major
//   acc     ((block * ci + c) * T + t) * B + j, f64: running weight-gradient sums
export const CONV2D_HEX_WASM_SOURCE = String.raw`
export function correlate8(xp: usize, packed: usize, bias: usize, offs: usize, out: usize, blocks: i32, ci: i32, T: i32, stride: i32, ho: i32, wo: i32, wp: i32): void {
  const plane = ho * wo;
  const cstep = <usize>stride << 3;
  const pstep = <usize>plane << 3;
  for (let b = 0; b < blocks; b++) {
    const bb = bias + (<usize>b << 6);
    const b0 = v128.load(bb), b1 = v128.load(bb, 16), b2 = v128.load(bb, 32), b3 = v128.load(bb, 48);
    const wBase = packed + (<usize>(b * ci * T) << 6);
    const ob = out + (<usize>(b * 8 * plane) << 3);
    for (let yo = 0; yo < ho; yo++) {
      for (let xo = 0; xo < wo; xo++) {
        let a0 = b0, a1 = b1, a2 = b2, a3 = b3;
        let wi = wBase;
        let xb = xp + (<usize>(yo * wp + xo) << 3);
        for (let c = 0; c < ci; c++) {
          for (let t = 0; t < T; t++) {
            const v = f64x2.splat(load<f64>(xb + (<usize>load<i32>(offs + (<usize>t << 2)) << 3)));
            a0 = f64x2.add(a0, f64x2.mul(v128.load(wi), v));
            a1 = f64x2.add(a1, f64x2.mul(v128.load(wi, 16), v));
            a2 = f64x2.add(a2, f64x2.mul(v128.load(wi, 32), v));
            a3 = f64x2.add(a3, f64x2.mul(v128.load(wi, 48), v));
            wi += 64;
          }
          xb += cstep;
        }
        const o = ob + (<usize>(yo * wo + xo) << 3);
        store<f64>(o, f64x2.extract_lane(a0, 0));
        store<f64>(o + pstep, f64x2.extract_lane(a0, 1));
        store<f64>(o + 2 * pstep, f64x2.extract_lane(a1, 0));
        store<f64>(o + 3 * pstep, f64x2.extract_lane(a1, 1));
        store<f64>(o + 4 * pstep, f64x2.extract_lane(a2, 0));
        store<f64>(o + 5 * pstep, f64x2.extract_lane(a2, 1));
        store<f64>(o + 6 * pstep, f64x2.extract_lane(a3, 0));
        store<f64>(o + 7 * pstep, f64x2.extract_lane(a3, 1));
      }
    }
  }
}

export function correlate4(xp: usize, packed: usize, bias: usize, offs: usize, out: usize, blocks: i32, ci: i32, T: i32, stride: i32, ho: i32, wo: i32, wp: i32): void {
  const plane = ho * wo;
  const cstep = <usize>stride << 3;
  const pstep = <usize>plane << 3;
  for (let b = 0; b < blocks; b++) {
    const bb = bias + (<usize>b << 5);
    const b0 = v128.load(bb), b1 = v128.load(bb, 16);
    const wBase = packed + (<usize>(b * ci * T) << 5);
    const ob = out + (<usize>(b * 4 * plane) << 3);
    for (let yo = 0; yo < ho; yo++) {
      for (let xo = 0; xo < wo; xo++) {
        let a0 = b0, a1 = b1;
        let wi = wBase;
        let xb = xp + (<usize>(yo * wp + xo) << 3);
        for (let c = 0; c < ci; c++) {
          for (let t = 0; t < T; t++) {
            const v = f64x2.splat(load<f64>(xb + (<usize>load<i32>(offs + (<usize>t << 2)) << 3)));
            a0 = f64x2.add(a0, f64x2.mul(v128.load(wi), v));
            a1 = f64x2.add(a1, f64x2.mul(v128.load(wi, 16), v));
            wi += 32;
          }
          xb += cstep;
        }
        const o = ob + (<usize>(yo * wo + xo) << 3);
        store<f64>(o, f64x2.extract_lane(a0, 0));
        store<f64>(o + pstep, f64x2.extract_lane(a0, 1));
        store<f64>(o + 2 * pstep, f64x2.extract_lane(a1, 0));
        store<f64>(o + 3 * pstep, f64x2.extract_lane(a1, 1));
      }
    }
  }
}

export function weightGrad8(xp: usize, gt: usize, acc: usize, offs: usize, blocks: i32, ci: i32, T: i32, stride: i32, ho: i32, wo: i32, wp: i32): void {
  const gstep = <usize>(blocks * 8) << 3;
  for (let b = 0; b < blocks; b++) {
    for (let c = 0; c < ci; c++) {
      for (let t = 0; t < T; t++) {
        const ap = acc + (<usize>((b * ci + c) * T + t) << 6);
        let a0 = v128.load(ap), a1 = v128.load(ap, 16), a2 = v128.load(ap, 32), a3 = v128.load(ap, 48);
        const xo0 = xp + (<usize>(c * stride + load<i32>(offs + (<usize>t << 2))) << 3);
        let gi = gt + (<usize>b << 6);
        for (let yo = 0; yo < ho; yo++) {
          const row = xo0 + (<usize>(yo * wp) << 3);
          for (let xo = 0; xo < wo; xo++) {
            const v = f64x2.splat(load<f64>(row + (<usize>xo << 3)));
            a0 = f64x2.add(a0, f64x2.mul(v128.load(gi), v));
            a1 = f64x2.add(a1, f64x2.mul(v128.load(gi, 16), v));
            a2 = f64x2.add(a2, f64x2.mul(v128.load(gi, 32), v));
            a3 = f64x2.add(a3, f64x2.mul(v128.load(gi, 48), v));
            gi += gstep;
          }
        }
        v128.store(ap, a0);
        v128.store(ap, a1, 16);
        v128.store(ap, a2, 32);
        v128.store(ap, a3, 48);
      }
    }
  }
}

export function weightGrad4(xp: usize, gt: usize, acc: usize, offs: usize, blocks: i32, ci: i32, T: i32, stride: i32, ho: i32, wo: i32, wp: i32): void {
  const gstep = <usize>(blocks * 4) << 3;
  for (let b = 0; b < blocks; b++) {
    for (let c = 0; c < ci; c++) {
      for (let t = 0; t < T; t++) {
        const ap = acc + (<usize>((b * ci + c) * T + t) << 5);
        let a0 = v128.load(ap), a1 = v128.load(ap, 16);
        const xo0 = xp + (<usize>(c * stride + load<i32>(offs + (<usize>t << 2))) << 3);
        let gi = gt + (<usize>b << 5);
        for (let yo = 0; yo < ho; yo++) {
          const row = xo0 + (<usize>(yo * wp) << 3);
          for (let xo = 0; xo < wo; xo++) {
            const v = f64x2.splat(load<f64>(row + (<usize>xo << 3)));
            a0 = f64x2.add(a0, f64x2.mul(v128.load(gi), v));
            a1 = f64x2.add(a1, f64x2.mul(v128.load(gi, 16), v));
            gi += gstep;
          }
        }
        v128.store(ap, a0);
        v128.store(ap, a1, 16);
      }
    }
  }
}
`;
