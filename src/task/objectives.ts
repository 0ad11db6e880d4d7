// flyvis's task objectives (flyvis/task/objectives.py) over autograd tensors of shape
// (samples, frames, ndim, hexals_or_features); estimate and ground truth broadcast as torch's
// subtraction does.
import { mean, reshape, sqrt, square, sub, sum } from '../autograd/index.ts';
import { Tensor, formatShape } from '../autograd/tensor.ts';
import { DecoderError } from './hex-map.ts';

function difference(op: string, yEst: Tensor, yGt: Tensor, minRank: number): Tensor {
  if (!(yEst instanceof Tensor) || !(yGt instanceof Tensor)) throw new DecoderError(`${op}: expected two tensors`);
  const d = sub(yEst, yGt);
  if (d.rank < minRank) {
    throw new DecoderError(`${op}: expected tensors of shape (samples, frames, ndim, hexals), got ${formatShape(yEst.shape)} and ${formatShape(yGt.shape)}`);
  }
  return d;
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * flyvis's l2norm: ((y_est - y_gt) ** 2).sum(dim=(1, 2, 3)).sqrt().mean(): per sample, the root
 * of the squared error summed over frames, components and hexals, averaged over samples (and any
 * axes after the fourth). flyvis's training loss for flow.
 */
export function l2norm(yEst: Tensor, yGt: Tensor): Tensor {
  const d = difference('l2norm', yEst, yGt, 4);
  const [s, ...rest] = d.shape as [number, ...number[]];
  const summed = sum(reshape(square(d), [s, prod(rest.slice(0, 3)), prod(rest.slice(3))]), 1);
  return mean(sqrt(summed));
}

/**
 * flyvis's epe, the average endpoint error: torch.sqrt(((y_est - y_gt) ** 2).sum(dim=2)).mean():
 * the euclidean norm over the components (axis 2), averaged over samples, frames and hexals.
 * flyvis's validation metric (validation/epe.h5).
 */
export function epe(yEst: Tensor, yGt: Tensor): Tensor {
  const d = difference('epe', yEst, yGt, 3);
  const shape = d.shape;
  const summed = sum(reshape(square(d), [prod(shape.slice(0, 2)), shape[2]!, prod(shape.slice(3))]), 1);
  return mean(sqrt(summed));
}

/** flyvis's objectives by name (a task config's `loss.<task>`). */
export const OBJECTIVES: Readonly<Record<'l2norm' | 'epe', (yEst: Tensor, yGt: Tensor) => Tensor>> = { l2norm, epe };
