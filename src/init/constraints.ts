// flyvis's Network.clamp: the projection applied before every forward pass.
import { clampInPlace } from './clamp.ts';
import { type Parameter, type ParameterSet, makeParameterSet } from './parameter.ts';
import { tieToMeanInPlace } from './symmetry.ts';

/** One parameter clamped and symmetrised (trainable parameters only; others are returned as they are). */
export function clampParameter(p: Parameter): Parameter {
  if (!p.trainable) return p;
  const raw = p.raw.slice();
  clampInPlace(raw, p.clamp);
  tieToMeanInPlace(raw, p.symmetry);
  return Object.freeze({ ...p, raw });
}

/**
 * A new set in which every trainable parameter is clamped by its rule ('non_negative': at zero,
 * [min, max]: to the range), then each of its symmetry groups set to the group's mean.
 * Non-trainable parameters are untouched. Pure.
 */
export function clampParameters(set: ParameterSet): ParameterSet {
  return makeParameterSet(set.parameters.map(clampParameter));
}
