// MPI Sintel in flyvis's MultiTaskSintel semantics (flyvis/datasets/sintel.py, sintel_utils.py),
// platform-neutral: a source supplies the scene listing and decoded files (the Node reader is
// sintel-node.ts). For each scene with at least n_frames + 1 frames, as flyvis's RenderedSintel:
// luminance frames 2..N (PIL "L" / 255) and flows 1..N-1 (.flo, pixels per frame / image
// height, y flipped to point up) are centre-cropped to 70% of the width, cut into 3 overlapping
// vertical splits of the BoxEye's width (min frame width + 2 kernels), and rendered through the
// BoxEye (extent 15, kernel 13): luminance averaged, each flow component summed over the
// hexal's box. Items then go through MultiTaskSintel's augmentation and resampling (augment.ts).
import { BoxEye } from '../../stimuli/box-eye.ts';
import { augmentItem, resolveAugmentOptions, sampleAugmentParams, hexSequence, type AugmentOptions, type FlowItem, type ResolvedAugmentOptions, type HexSequence } from './augment.ts';
import { checkInt, checkNumber, FlowDatasetError, flowFail } from './errors.ts';
import { itemRng, type Xoshiro128 } from './random.ts';
import type { FlowDataset } from './types.ts';

/** The .flo magic number (the float32 202021.25, "PIEH" in ASCII). */
export const FLO_MAGIC = 202021.25;

/** A decoded .flo file: (height, width, 2) float32, u (rightward) and v (downward) in pixels. */
export interface FloFile {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/**
 * Parses a Middlebury .flo file: float32 magic 202021.25, int32 width, int32 height, then
 * height x width x 2 float32 (little-endian). `name` (the path) is named in errors.
 */
export function parseFlo(bytes: Uint8Array, name: string): FloFile {
  if (bytes.length < 12) throw new FlowDatasetError(`${name}: not a .flo file (${bytes.length} bytes, expected a 12-byte header: magic 202021.25, width, height)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getFloat32(0, true);
  if (magic !== FLO_MAGIC) throw new FlowDatasetError(`${name}: not a .flo file (magic ${magic}, expected ${FLO_MAGIC})`);
  const width = view.getInt32(4, true);
  const height = view.getInt32(8, true);
  if (width < 1 || height < 1 || width > 1e5 || height > 1e5) throw new FlowDatasetError(`${name}: bad .flo size ${width} x ${height} (expected positive width and height)`);
  const expected = 12 + width * height * 8;
  if (bytes.length !== expected)
    throw new FlowDatasetError(`${name}: .flo file of ${bytes.length} bytes, expected ${expected} for ${width} x ${height} flow (12-byte header + 2 float32 per pixel)`);
  const data = new Float32Array(width * height * 2);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(12 + 4 * i, true);
  return { width, height, data };
}

/** Encodes a .flo file (for tests and tools): data (height, width, 2) u, v in pixels. */
export function encodeFlo(width: number, height: number, data: ArrayLike<number>): Uint8Array {
  if (data.length !== width * height * 2) flowFail('flow data', `${width * height * 2} values for ${width} x ${height} x 2`, data.length);
  const out = new Uint8Array(12 + data.length * 4);
  const view = new DataView(out.buffer);
  view.setFloat32(0, FLO_MAGIC, true);
  view.setInt32(4, width, true);
  view.setInt32(8, height, true);
  for (let i = 0; i < data.length; i++) view.setFloat32(12 + 4 * i, data[i]!, true);
  return out;
}

/**
 * flyvis `split` after `center_crop` along the width: the column ranges [start, stop) of the
 * splits of a frame `width` wide. With n > 1 splits of `outWidth` (at least width / n) columns
 * they overlap by ceil((out n - width') / (n - 1)) columns (width' the centre-cropped width).
 */
export function splitColumns(width: number, outWidth: number, nSplits: number, centerCropFraction: number | null = 0.7): [number, number][] {
  checkInt('vertical_splits', nSplits, 1);
  let lo = 0;
  let n = width;
  if (centerCropFraction !== null) {
    checkNumber('center_crop_fraction', centerCropFraction, 0, 1, true);
    const out = Math.trunc(centerCropFraction * width);
    lo = Math.floor((width - out) / 2);
    n = Math.floor((width + out) / 2) - lo;
  }
  if (nSplits === 1) return [[lo, lo + n]];
  const out = Math.max(Math.trunc(outWidth), Math.trunc(n / nSplits));
  const overlap = Math.ceil((out * nSplits - n) / (nSplits - 1));
  const r: [number, number][] = [];
  for (let i = 0; i < nSplits; i++) {
    const start = i * out - i * overlap;
    const stop = (i + 1) * out - i * overlap;
    if (start < 0 || stop > n) flowFail('frame width', `at least ${outWidth} columns after the ${centerCropFraction ?? 1} centre crop for ${nSplits} vertical splits of ${outWidth}`, n);
    r.push([lo + start, lo + stop]);
  }
  return r;
}

/** flyvis's original training scenes (sintel_utils.original_train_and_validation_indices). */
export const SINTEL_TRAIN_SCENES: readonly string[] = Object.freeze([
  'alley_1', 'alley_2', 'ambush_4', 'ambush_5', 'ambush_6', 'ambush_7', 'bamboo_2', 'bandage_2', 'cave_2',
  'market_5', 'market_6', 'shaman_2', 'shaman_3', 'sleeping_1', 'sleeping_2', 'temple_2', 'temple_3',
]);
/** flyvis's original validation scenes. */
export const SINTEL_VALIDATION_SCENES: readonly string[] = Object.freeze(['ambush_2', 'bamboo_1', 'bandage_1', 'cave_4', 'market_2', 'mountain_1']);
/** Dataset indices flyvis drops from validation (its data loader dropped them; on the full Sintel: cave_4's 2nd and 3rd splits). */
export const SINTEL_DROPPED_VALIDATION_INDICES: readonly number[] = Object.freeze([37, 38]);

/**
 * flyvis `original_train_and_validation_indices`: dataset indices whose names contain a training
 * (validation) scene name, validation without indices 37 and 38 (removed when present; flyvis
 * raises when they are not validation items, i.e. on a partial copy of Sintel).
 */
export function sintelTrainValidationIndices(names: readonly string[]): { train: number[]; validation: number[] } {
  const has = (list: readonly string[]) => (name: string) => list.some((s) => name.includes(s));
  const train = names.flatMap((n, i) => (has(SINTEL_TRAIN_SCENES)(n) ? [i] : []));
  const validation = names.flatMap((n, i) => (has(SINTEL_VALIDATION_SCENES)(n) ? [i] : [])).filter((i) => !SINTEL_DROPPED_VALIDATION_INDICES.includes(i));
  return { train, validation };
}

/** A decoded luminance frame (row-major, values in [0, 1]). */
export interface LumFrame {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/**
 * What the Sintel dataset reads: the scene folders of the chosen pass, their frame and flow
 * files (names, sorted as flyvis sorts them), and decoded files. `path` names files in errors.
 */
export interface SintelSource {
  /** Scene folder names under training/<pass>. */
  scenes(): string[];
  /** Frame file names of a scene (training/<pass>/<scene>). */
  frameFiles(scene: string): string[];
  /** Flow file names of a scene (training/flow/<scene>). */
  flowFiles(scene: string): string[];
  readFrame(scene: string, file: string): LumFrame;
  readFlow(scene: string, file: string): FloFile;
  framePath(scene: string, file?: string): string;
  flowPath(scene: string, file?: string): string;
}

export interface SintelOptions extends AugmentOptions {
  /** Which items (default 'all', MultiTaskSintel's whole dataset): flyvis's original split by scene names. */
  split?: 'all' | 'train' | 'validation';
  /** BoxEye extent (default 15) and kernel size (default 13). */
  extent?: number;
  kernelSize?: number;
  /** Vertical splits of each frame (default 3). */
  verticalSplits?: number;
  /** Width kept by the centre crop before splitting (default 0.7). */
  centerCropFraction?: number;
  /** Seed of the per-item augmentation streams (default 0). */
  seed?: number;
}

interface SceneEntry {
  readonly index: number; // position among all scene folders (flyvis's i)
  readonly scene: string;
  readonly frames: string[];
  readonly flows: string[];
}

/** MultiTaskSintel over a source (see SintelSource); the Node reader is SintelFlow (sintel-node.ts). */
export class SintelDataset implements FlowDataset {
  readonly extent: number;
  readonly kernelSize: number;
  readonly hexals: number;
  readonly dt: number;
  readonly verticalSplits: number;
  readonly centerCropFraction: number;
  readonly seed: number;
  readonly split: 'all' | 'train' | 'validation';
  readonly augmentOptions: ResolvedAugmentOptions;
  /** Rendered sequence names in flyvis's order: sequence_<i>_<scene>_split_<j>. */
  readonly names: readonly string[];
  /** Dataset indices (into names) of this split's items. */
  readonly indices: readonly number[];
  readonly length: number;
  private readonly eye: BoxEye;
  private readonly entries: Map<string, { entry: SceneEntry; split: number }>;
  private readonly rendered = new Map<string, { lum: HexSequence; flow: HexSequence }[]>();

  constructor(
    readonly source: SintelSource,
    options: SintelOptions = {},
  ) {
    const { split, extent, kernelSize, verticalSplits, centerCropFraction, seed, ...aug } = options;
    this.split = split ?? 'all';
    if (!['all', 'train', 'validation'].includes(this.split)) flowFail('split', "'all', 'train' or 'validation'", this.split);
    this.extent = checkInt('extent', extent ?? 15, 0);
    this.kernelSize = checkInt('kernelSize', kernelSize ?? 13, 1);
    this.verticalSplits = checkInt('verticalSplits', verticalSplits ?? 3, 1);
    this.centerCropFraction = checkNumber('centerCropFraction', centerCropFraction ?? 0.7, 0, 1, true);
    this.seed = checkInt('seed', seed ?? 0, 0);
    this.augmentOptions = resolveAugmentOptions(aug);
    this.dt = this.augmentOptions.dt;
    this.eye = new BoxEye(this.extent, this.kernelSize);
    this.hexals = this.eye.hexals;
    const nFrames = this.augmentOptions.nFrames;
    const scenes = [...source.scenes()].sort();
    const entries = new Map<string, { entry: SceneEntry; split: number }>();
    scenes.forEach((scene, index) => {
      const frames = source.frameFiles(scene);
      // flyvis renders the scenes with at least n_frames + 1 frames (luminance starts at the 2nd)
      if (frames.length - 1 < nFrames) return;
      const flows = source.flowFiles(scene);
      if (flows.length !== frames.length - 1)
        throw new FlowDatasetError(`${source.flowPath(scene)}: expected ${frames.length - 1} .flo files (one per pair of the ${frames.length} frames in ${source.framePath(scene)}), found ${flows.length}`);
      // flow t is frame t's forward flow (Sintel names them alike: frame_0001.png, frame_0001.flo)
      const stem = (f: string): string => f.replace(/\.[^.]*$/, '');
      flows.forEach((f, t) => {
        if (stem(f) !== stem(frames[t]!))
          throw new FlowDatasetError(`${source.flowPath(scene, f)}: expected ${stem(frames[t]!)}.flo here (the flow from ${frames[t]} to ${frames[t + 1]}), as Sintel names flows after their first frame`);
      });
      const entry: SceneEntry = { index, scene, frames, flows };
      for (let j = 0; j < this.verticalSplits; j++) entries.set(`sequence_${String(index).padStart(2, '0')}_${scene}_split_${String(j).padStart(2, '0')}`, { entry, split: j });
    });
    if (entries.size === 0) throw new FlowDatasetError(`${source.framePath('')}: expected scene folders with at least ${nFrames + 1} frames each, found none among ${scenes.length} scene folder(s)`);
    this.entries = entries;
    this.names = [...entries.keys()].sort();
    const all = this.names.map((_, i) => i);
    const tv = sintelTrainValidationIndices(this.names);
    this.indices = this.split === 'all' ? all : this.split === 'train' ? tv.train : tv.validation;
    this.length = this.indices.length;
  }

  /** Number of frames flyvis renders for dataset index k (the scene's frames minus one). */
  sequenceFrames(k: number): number {
    return this.entryOf(k).entry.flows.length;
  }

  private entryOf(k: number): { entry: SceneEntry; split: number } {
    checkInt('sequence index', k, 0, this.names.length - 1);
    return this.entries.get(this.names[k]!)!;
  }

  /** Renders (and keeps) every vertical split of a scene, frame by frame. */
  private renderScene(entry: SceneEntry): { lum: HexSequence; flow: HexSequence }[] {
    const hit = this.rendered.get(entry.scene);
    if (hit) return hit;
    const { source, eye } = this;
    const N = this.hexals;
    const T = entry.flows.length;
    const outWidth = eye.minFrameSize[1] + 2 * this.kernelSize;
    const lum = Array.from({ length: this.verticalSplits }, () => new Float32Array(T * N));
    const flow = Array.from({ length: this.verticalSplits }, () => new Float32Array(T * 2 * N));
    let size: { width: number; height: number; file: string } | undefined;
    const checkSize = (w: number, h: number, file: string): void => {
      if (!size) size = { width: w, height: h, file };
      else if (w !== size.width || h !== size.height) throw new FlowDatasetError(`${file}: ${w} x ${h}, expected ${size.width} x ${size.height} as ${size.file}`);
    };
    let cols: [number, number][] = [];
    const crop = (img: Float32Array, width: number, height: number, c0: number, c1: number): Float32Array => {
      const w = c1 - c0;
      const out = new Float32Array(height * w);
      for (let y = 0; y < height; y++) out.set(img.subarray(y * width + c0, y * width + c1), y * w);
      return out;
    };
    for (let t = 0; t < T; t++) {
      // luminance: frames[1:]; flow: flows[0:], frame t + 1's forward flow to frame t + 2
      const fname = entry.frames[t + 1]!;
      const img = source.readFrame(entry.scene, fname);
      checkSize(img.width, img.height, source.framePath(entry.scene, fname));
      if (t === 0) {
        try {
          cols = splitColumns(img.width, outWidth, this.verticalSplits, this.centerCropFraction);
        } catch (e) {
          if (e instanceof FlowDatasetError) throw new FlowDatasetError(`${source.framePath(entry.scene, fname)}: ${e.message}`);
          throw e;
        }
      }
      const flo = source.readFlow(entry.scene, entry.flows[t]!);
      checkSize(flo.width, flo.height, source.flowPath(entry.scene, entry.flows[t]!));
      const { width: W, height: H } = img;
      // flyvis sample_flow: float32 (u, v) / height, v negated (y up)
      const u = new Float32Array(H * W);
      const v = new Float32Array(H * W);
      for (let i = 0; i < H * W; i++) {
        u[i] = flo.data[2 * i]! / H;
        v[i] = -(flo.data[2 * i + 1]! / H);
      }
      cols.forEach(([c0, c1], j) => {
        const w = c1 - c0;
        lum[j]!.set(eye.render({ data: crop(img.data, W, H, c0, c1), shape: [H, w] }, 'mean').data, t * N);
        flow[j]!.set(eye.render({ data: crop(u, W, H, c0, c1), shape: [H, w] }, 'sum').data, t * 2 * N);
        flow[j]!.set(eye.render({ data: crop(v, W, H, c0, c1), shape: [H, w] }, 'sum').data, t * 2 * N + N);
      });
    }
    const r = lum.map((l, j) => ({ lum: hexSequence(l, T, 1, N), flow: hexSequence(flow[j]!, T, 2, N) }));
    this.rendered.set(entry.scene, r);
    return r;
  }

  /** Rendered sequence k (dataset index, all frames at 24 per second) before augmentation: flyvis's RenderedSintel(k). */
  rendering(k: number): { lum: HexSequence; flow: HexSequence } {
    const { entry, split } = this.entryOf(k);
    return this.renderScene(entry)[split]!;
  }

  /** The dataset index (into names) of item i of this split. */
  datasetIndex(i: number): number {
    return this.indices[checkInt('item index', i, 0, this.length - 1)]!;
  }

  /**
   * Item i of this split: MultiTaskSintel.get_item (temporal crop, augmentation, resampling to
   * dt). Draws come from `rng` when given, else from a stream fixed by (seed, dataset index).
   */
  item(i: number, rng?: Xoshiro128): FlowItem {
    const k = this.datasetIndex(i);
    const raw = this.rendering(k);
    const r = rng ?? itemRng(this.seed, 'sintel:augment', k);
    const params = sampleAugmentParams(r, raw.lum.shape[0], this.augmentOptions);
    return augmentItem(raw, params, r, this.augmentOptions);
  }
}
