// torch.nn.BatchNorm2d (flyvis's decoder uses its defaults: eps 1e-5, momentum 0.1, affine,
// running statistics tracked) as pure functions: an op over (batch, channels, H, W) with its VJP,
// in training mode (batch statistics, differentiated through) or evaluation mode (running
// averages, constants), and the running-average update returned as new values instead of
// written into buffers.
import { AutogradError, Tensor, allocate, assertTensor, formatShape } from '../autograd/tensor.ts';
import { defineOp } from '../autograd/tape.ts';

/** torch's BatchNorm2d defaults. */
export const BATCH_NORM_EPS = 1e-5;
export const BATCH_NORM_MOMENTUM = 0.1;

interface BnAttrs {
  readonly n: number;
  readonly c: number;
  readonly plane: number;
  /** Per channel: the mean subtracted and 1 / sqrt(var + eps). */
  readonly mean: Float64Array;
  readonly invstd: Float64Array;
  /** True: mean and invstd are the batch's (the VJP differentiates through them). */
  readonly batchStats: boolean;
}

const bnOp = defineOp<BnAttrs>({
  name: 'batchNorm2d',
  forward(inputs, { n, c, plane, mean, invstd }) {
    const [x, w, b] = inputs as [Tensor, Tensor, Tensor];
    const out = allocate(x.size, x.dtype);
    for (let ch = 0; ch < c; ch++) {
      // torch (CPU): y = x * alpha + beta with alpha = w * invstd, beta = b - mean * alpha
      const alpha = w.data[ch]! * invstd[ch]!;
      const beta = b.data[ch]! - mean[ch]! * alpha;
      for (let s = 0; s < n; s++) {
        const base = (s * c + ch) * plane;
        for (let i = 0; i < plane; i++) out[base + i] = x.data[base + i]! * alpha + beta;
      }
    }
    return { out: new Tensor(out, x.shape) };
  },
  vjp(g, { inputs, attrs: { n, c, plane, mean, invstd, batchStats }, needsGrad }) {
    const [x, w, b] = inputs as [Tensor, Tensor, Tensor];
    const gx = needsGrad[0] ? allocate(x.size, x.dtype) : null;
    const gw = needsGrad[1] ? allocate(w.size, w.dtype) : null;
    const gb = needsGrad[2] ? allocate(b.size, b.dtype) : null;
    const m = n * plane;
    for (let ch = 0; ch < c; ch++) {
      const mu = mean[ch]!;
      const is = invstd[ch]!;
      let sumG = 0;
      let sumGXhat = 0;
      for (let s = 0; s < n; s++) {
        const base = (s * c + ch) * plane;
        for (let i = 0; i < plane; i++) {
          const gi = g.data[base + i]!;
          sumG += gi;
          sumGXhat += gi * (x.data[base + i]! - mu) * is;
        }
      }
      if (gw) gw[ch] = sumGXhat;
      if (gb) gb[ch] = sumG;
      if (!gx) continue;
      const scale = w.data[ch]! * is;
      for (let s = 0; s < n; s++) {
        const base = (s * c + ch) * plane;
        if (batchStats) {
          // d/dx of w * (x - mean(x)) / sqrt(var(x) + eps) + b, mean and biased var over the batch
          for (let i = 0; i < plane; i++) {
            const xhat = (x.data[base + i]! - mu) * is;
            gx[base + i] = scale * (g.data[base + i]! - sumG / m - (xhat * sumGXhat) / m);
          }
        } else {
          for (let i = 0; i < plane; i++) gx[base + i] = scale * g.data[base + i]!;
        }
      }
    }
    return [gx && new Tensor(gx, x.shape), gw && new Tensor(gw, w.shape), gb && new Tensor(gb, b.shape)];
  },
});

export interface BatchNormStats {
  /** Per channel mean over (batch, H, W). */
  readonly mean: Float64Array;
  /** Per channel biased variance (what normalises in training). */
  readonly var: Float64Array;
  /** The number of values per channel (batch * H * W). */
  readonly count: number;
}

/** Per-channel mean and biased variance of x (batch, channels, H, W), in float64 (two passes). */
export function batchStats(x: Tensor): BatchNormStats {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const plane = h * w;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  const m = n * plane;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * plane;
      for (let i = 0; i < plane; i++) s += x.data[base + i]!;
    }
    const mu = s / m;
    let q = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * plane;
      for (let i = 0; i < plane; i++) {
        const d = x.data[base + i]! - mu;
        q += d * d;
      }
    }
    mean[ch] = mu;
    variance[ch] = q / m;
  }
  return { mean, var: variance, count: m };
}

export interface BatchNorm2dOptions {
  /** Training mode: normalise by the batch's statistics (default false: the running averages). */
  readonly training?: boolean;
  readonly eps?: number;
  readonly momentum?: number;
}

export interface BatchNorm2dResult {
  readonly out: Tensor;
  /** Training mode: the updated running averages (torch: (1 - momentum) r + momentum batch, unbiased variance). */
  readonly runningMean?: Tensor;
  readonly runningVar?: Tensor;
}

function checkChannelVector(t: Tensor, name: string, c: number): void {
  assertTensor(t, 'batchNorm2d', name);
  if (t.rank !== 1 || t.shape[0] !== c) throw new AutogradError(`batchNorm2d: ${name} must have shape [${c}], got ${formatShape(t.shape)}`);
}

/**
 * torch.nn.BatchNorm2d's forward on x (batch, channels, H, W) with affine weight and bias (one
 * per channel). Evaluation mode normalises by the running mean and variance (constants); training
 * mode by the batch's mean and biased variance over (batch, H, W), and also returns the updated
 * running averages (new tensors; torch's momentum update with the unbiased batch variance).
 */
export function batchNorm2d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  options: BatchNorm2dOptions = {},
): BatchNorm2dResult {
  assertTensor(x, 'batchNorm2d');
  if (x.rank !== 4) throw new AutogradError(`batchNorm2d: x must have shape (batch, channels, H, W), got ${formatShape(x.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  checkChannelVector(weight, 'weight', c);
  checkChannelVector(bias, 'bias', c);
  checkChannelVector(runningMean, 'running_mean', c);
  checkChannelVector(runningVar, 'running_var', c);
  if (weight.dtype !== x.dtype || bias.dtype !== x.dtype) {
    throw new AutogradError(`batchNorm2d: mixed dtypes (x ${x.dtype}, weight ${weight.dtype}, bias ${bias.dtype})`);
  }
  const eps = options.eps ?? BATCH_NORM_EPS;
  const momentum = options.momentum ?? BATCH_NORM_MOMENTUM;
  const plane = h * w;
  if (!options.training) {
    const mean = Float64Array.from(runningMean.data);
    const invstd = Float64Array.from(runningVar.data, (v) => 1 / Math.sqrt(v + eps));
    return { out: bnOp([x, weight, bias], { n, c, plane, mean, invstd, batchStats: false }) };
  }
  const stats = batchStats(x);
  if (stats.count <= 1) throw new AutogradError(`batchNorm2d: expected more than 1 value per channel when training, got input of shape ${formatShape(x.shape)}`);
  const invstd = stats.var.map((v) => 1 / Math.sqrt(v + eps));
  const out = bnOp([x, weight, bias], { n, c, plane, mean: stats.mean, invstd, batchStats: true });
  const update = (r: Tensor, batch: Float64Array, factor: number): Tensor => {
    const next = allocate(c, r.dtype);
    for (let ch = 0; ch < c; ch++) next[ch] = momentum * batch[ch]! * factor + (1 - momentum) * r.data[ch]!;
    return new Tensor(next, [c]);
  };
  return {
    out,
    runningMean: update(runningMean, stats.mean, 1),
    runningVar: update(runningVar, stats.var, stats.count / (stats.count - 1)),
  };
}
