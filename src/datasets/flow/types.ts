// What a flow dataset offers a training or evaluation loop, whatever its source (procedural
// scenes, MPI Sintel on disk).
import type { FlowItem } from './augment.ts';
import type { Xoshiro128 } from './random.ts';

export interface FlowDataset {
  /** Number of items. */
  readonly length: number;
  /** Time step of the items' frames, seconds. */
  readonly dt: number;
  readonly extent: number;
  readonly hexals: number;
  /**
   * Item i: lum (frames, 1, hexals) and flow (frames, 2, hexals). Random augmentation draws
   * come from `rng` when given, else from a stream fixed by the dataset's seed and i.
   */
  item(i: number, rng?: Xoshiro128): FlowItem;
}
