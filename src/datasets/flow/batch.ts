// Stacking items of a flow dataset into a batch: luminance as a movie for Network.simulate,
// (samples, frames, 1, hexals), and the flow targets (samples, frames, 2, hexals).
import type { FlowItem } from './augment.ts';
import { checkInt, flowFail } from './errors.ts';
import type { Xoshiro128 } from './random.ts';
import type { FlowDataset } from './types.ts';

export interface FlowBatch {
  readonly lum: { readonly data: Float32Array; readonly shape: readonly [number, number, 1, number] };
  readonly flow: { readonly data: Float32Array; readonly shape: readonly [number, number, 2, number] };
}

/** Stacks items (all of the same shapes) into a batch. */
export function stackFlowItems(items: readonly FlowItem[]): FlowBatch {
  if (items.length === 0) flowFail('batch', 'at least one item', 0);
  const [T, , N] = items[0]!.lumShape;
  const [F] = items[0]!.flowShape;
  items.forEach((it, i) => {
    if (it.lumShape[0] !== T || it.lumShape[2] !== N || it.flowShape[0] !== F || it.flowShape[2] !== N)
      flowFail(`batch item ${i}`, `lum (${T}, 1, ${N}) and flow (${F}, 2, ${N}) like item 0`, `lum (${it.lumShape.join(', ')}), flow (${it.flowShape.join(', ')})`);
  });
  const lum = new Float32Array(items.length * T * N);
  const flow = new Float32Array(items.length * F * 2 * N);
  items.forEach((it, i) => {
    lum.set(it.lum, i * T * N);
    flow.set(it.flow, i * F * 2 * N);
  });
  return { lum: { data: lum, shape: [items.length, T, 1, N] }, flow: { data: flow, shape: [items.length, F, 2, N] } };
}

/** Items `indices` of a dataset as a batch (augmentation draws from `rng` when given). */
export function flowBatch(dataset: FlowDataset, indices: readonly number[], rng?: Xoshiro128): FlowBatch {
  return stackFlowItems(indices.map((i) => dataset.item(checkInt('item index', i, 0, dataset.length - 1), rng)));
}
