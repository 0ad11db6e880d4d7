// The procedural optic-flow dataset: each item a scene of textured layers in rigid motion
// (scene.ts), drawn from a seeded stream per (seed, split, index), rendered through flyvis's
// BoxEye at Sintel's frame rate and then put through MultiTaskSintel's item pipeline
// (augment.ts): flyvis's augmentations when augmenting, and resampling to dt (luminance
// piecewise constant, flow linearly interpolated). Items have the shapes and units of
// flyvis's MultiTaskSintel items: lum (frames, 1, hexals), flow (frames, 2, hexals).
import { augmentItem, FLYVIS_TASK_AUGMENT, resolveAugmentOptions, sampleAugmentParams, type AugmentOptions, type FlowItem, type ResolvedAugmentOptions, type HexSequence } from './augment.ts';
import { checkInt, flowFail } from './errors.ts';
import { itemRng, type Xoshiro128 } from './random.ts';
import { renderScene, resolveSceneOptions, sampleScene, sceneFrameSize, type Scene, type SceneOptions } from './scene.ts';
import type { FlowDataset } from './types.ts';

export interface ProceduralFlowOptions extends Omit<AugmentOptions, 'nFrames' | 'allFrames' | 'randomTemporalCrop' | 'originalFramerate'> {
  /** Seed of the whole dataset (default 0). */
  seed?: number;
  /** 'train' or 'validation' (default 'train'): disjoint streams of scenes. */
  split?: 'train' | 'validation';
  /** Number of sequences (default 256 for train, 32 for validation). */
  nSequences?: number;
  /** Frames rendered at Sintel's 24 frames per second (default 19, as MultiTaskSintel's n_frames). */
  frames?: number;
  /** Lattice extent (default 15) and BoxEye kernel size (default 13). */
  extent?: number;
  kernelSize?: number;
  /** Ranges the scenes are drawn from. */
  scene?: SceneOptions;
  /** Keep rendered sequences in memory (default true; about 0.16 MB per item at extent 15). */
  cache?: boolean;
}

/** Sintel's frame rate: the procedural scenes are rendered at it and resampled to dt as Sintel's. */
export const SINTEL_FRAMERATE = 24;

export class ProceduralFlow implements FlowDataset {
  readonly length: number;
  readonly seed: number;
  readonly split: 'train' | 'validation';
  readonly frames: number;
  readonly extent: number;
  readonly kernelSize: number;
  readonly dt: number;
  readonly hexals: number;
  /** The (height, width) pixel frame the scenes are rendered on before the BoxEye. */
  readonly frameSize: readonly [number, number];
  readonly augmentOptions: ResolvedAugmentOptions;
  readonly sceneOptions: Required<SceneOptions>;
  private readonly cache: Map<number, { lum: HexSequence; flow: HexSequence }> | null;

  constructor(options: ProceduralFlowOptions = {}) {
    const o = options;
    this.seed = checkInt('seed', o.seed ?? 0, 0);
    const split = o.split ?? 'train';
    if (split !== 'train' && split !== 'validation') flowFail('split', "'train' or 'validation'", split);
    this.split = split;
    this.length = checkInt('nSequences', o.nSequences ?? (split === 'train' ? 256 : 32), 0);
    this.frames = checkInt('frames', o.frames ?? 19, 1);
    this.extent = checkInt('extent', o.extent ?? 15, 0);
    this.kernelSize = checkInt('kernelSize', o.kernelSize ?? 13, 1);
    this.hexals = 3 * this.extent * (this.extent + 1) + 1;
    this.frameSize = sceneFrameSize(this.extent, this.kernelSize);
    const { seed: _s, split: _sp, nSequences: _n, frames: _f, extent: _e, kernelSize: _k, scene: _sc, cache: _c, ...aug } = o;
    // flyvis's training augmentation (task.yaml); augmenting the train split only by default
    this.augmentOptions = resolveAugmentOptions(
      { ...aug, nFrames: this.frames, allFrames: false, randomTemporalCrop: false, originalFramerate: SINTEL_FRAMERATE },
      { ...FLYVIS_TASK_AUGMENT, augment: split === 'train' },
    );
    this.dt = this.augmentOptions.dt;
    this.sceneOptions = resolveSceneOptions(o.scene);
    this.cache = o.cache === false ? null : new Map();
  }

  private checkIndex(i: number): number {
    return checkInt('item index', i, 0, this.length - 1);
  }

  /** The scene of item i (deterministic from seed, split and i). */
  scene(i: number): Scene {
    this.checkIndex(i);
    return sampleScene(itemRng(this.seed, this.split, i), this.frameSize, this.sceneOptions);
  }

  /** Item i before augmentation and resampling: `frames` frames at 24 per second. */
  raw(i: number): { lum: HexSequence; flow: HexSequence } {
    this.checkIndex(i);
    const hit = this.cache?.get(i);
    if (hit) return hit;
    const r = renderScene(this.scene(i), { frames: this.frames, extent: this.extent, kernelSize: this.kernelSize });
    this.cache?.set(i, r);
    return r;
  }

  /**
   * Item i: lum (frames, 1, hexals) and flow (frames, 2, hexals) at dt. Augmentation draws
   * come from `rng` when given (e.g. a new one per epoch), else from a stream fixed by
   * (seed, split, i), so item(i) is the same on every call.
   */
  item(i: number, rng?: Xoshiro128): FlowItem {
    const raw = this.raw(i);
    const r = rng ?? itemRng(this.seed, `${this.split}:augment`, i);
    const params = sampleAugmentParams(r, this.frames, this.augmentOptions);
    return augmentItem(raw, params, r, this.augmentOptions);
  }
}
