// flyvis's `Stimulus`: the (samples, frames, nodes) input buffer of the network. Movies of
// shape (samples, frames, 1, hexals) go to every input cell type (R1..R8) at each hexal;
// other cells can be stimulated by writing into `buffer` directly (perturbation experiments).
import type { Connectome } from '../graph/types.ts';
import { FLOAT32_MAX } from '../io/finite.ts';

/** Any n-dimensional float array: a Tensor, an .npy array, or a plain { data, shape }. */
export interface ArrayND {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

export class StimulusError extends Error {
  override name = 'StimulusError';
}

export interface AddInputOptions {
  /** Temporal slice of the buffer to write to (Python slice semantics, negatives allowed). */
  readonly start?: number | null;
  readonly stop?: number | null;
  /** Resize the buffer to this many frames (instead of the input's). */
  readonly nFramesBuffer?: number | null;
  /** Add to what the buffer holds instead of starting from zero. */
  readonly cumulate?: boolean;
}

/** The protocol a stimulus implements (flyvis `StimulusProtocol`), for the stimulus registry. */
export interface StimulusProtocol {
  /** The (samples, frames, nodes) buffer. */
  call(): { readonly data: Float32Array; readonly shape: readonly [number, number, number] };
  addInput(x: ArrayND, options?: AddInputOptions): void;
  addPreStim(x: number | ArrayLike<number>, options?: Omit<AddInputOptions, 'cumulate'>): void;
  zero(nSamples?: number | null, nFrames?: number | null): void;
  readonly nonzero: boolean;
}

const fmt = (shape: readonly number[]): string => `(${shape.join(', ')})`;

/** Python's slice(start, stop) over a length: [from, to). */
function sliceRange(start: number | null | undefined, stop: number | null | undefined, length: number): [number, number] {
  const clampIndex = (x: number): number => Math.min(Math.max(x < 0 ? x + length : x, 0), length);
  const from = start == null ? 0 : clampIndex(start);
  const to = stop == null ? length : clampIndex(stop);
  return [from, Math.max(from, to)];
}

export class Stimulus implements StimulusProtocol {
  readonly layerIndex: ReadonlyMap<string, Int32Array>;
  readonly centralCellsIndex: ReadonlyMap<string, number>;
  /** Node indices of the input cells: one row per input cell type, one column per hexal. */
  readonly inputIndex: readonly Int32Array[];
  readonly nInputElements: number;
  readonly nNodes: number;
  nSamples: number;
  nFrames: number;
  buffer: Float32Array | undefined;
  private nonzeroFlag = false;

  constructor(connectome: Connectome, nSamples = 1, nFrames = 1, initBuffer = true) {
    this.layerIndex = connectome.layerIndex;
    this.centralCellsIndex = new Map(connectome.uniqueCellTypes.map((t, i) => [t, connectome.centralCellsIndex[i]!]));
    this.inputIndex = connectome.inputCellTypes.map((t) => {
      const idx = connectome.layerIndex.get(t);
      if (idx === undefined) throw new StimulusError(`input cell type '${t}' has no nodes in the connectome`);
      return idx;
    });
    const sizes = new Set(this.inputIndex.map((i) => i.length));
    if (sizes.size > 1) {
      throw new StimulusError(
        `input cell types must have equal numbers of cells (one per hexal), got ${connectome.inputCellTypes
          .map((t, i) => `${t}: ${this.inputIndex[i]!.length}`)
          .join(', ')}`,
      );
    }
    this.nInputElements = this.inputIndex[0]?.length ?? 0;
    this.nNodes = connectome.nodes.length;
    this.nSamples = nSamples;
    this.nFrames = nFrames;
    if (initBuffer) this.zero();
  }

  get nonzero(): boolean {
    return this.nonzeroFlag;
  }

  get shape(): [number, number, number] {
    return [this.nSamples, this.nFrames, this.nNodes];
  }

  /** Resets the buffer to zero, resizing it when a new sample or frame count is given. */
  zero(nSamples?: number | null, nFrames?: number | null): void {
    for (const [name, v] of [['n_samples', nSamples], ['n_frames', nFrames]] as const) {
      if (v != null && (!Number.isInteger(v) || v < 0)) throw new StimulusError(`${name}: expected a non-negative integer, got ${v}`);
    }
    this.nSamples = nSamples || this.nSamples;
    this.nFrames = nFrames || this.nFrames;
    const size = this.nSamples * this.nFrames * this.nNodes;
    if (this.buffer !== undefined && this.buffer.length === size) this.buffer.fill(0);
    else this.buffer = new Float32Array(size);
    this.nonzeroFlag = false;
  }

  /**
   * Adds a movie (samples, frames, 1, hexals) to the input cells. Each dimension of x must
   * equal the buffer's or be 1 (broadcast), as in flyvis.
   */
  addInput(x: ArrayND, options: AddInputOptions = {}): void {
    if (x.shape.length !== 4) {
      throw new StimulusError(`input has shape ${fmt(x.shape)} but must have (n_samples, n_frames, 1, n_input_elements)`);
    }
    const [nS, nF] = x.shape as [number, number, number, number];
    if (this.buffer === undefined || (!options.cumulate && this.nonzeroFlag)) {
      this.zero(nS, options.nFramesBuffer ?? nF);
    }
    this.addToInputs(options, (s, f, r, h) => {
      const [xs, xf, xr, xh] = x.shape as [number, number, number, number];
      return x.data[(((xs === 1 ? 0 : s) * xf + (xf === 1 ? 0 : f)) * xr + (xr === 1 ? 0 : r)) * xh + (xh === 1 ? 0 : h)]!;
    }, x.shape);
  }

  /** Adds a constant grey value, or one value per frame, to the input cells. */
  addPreStim(x: number | ArrayLike<number>, options: Omit<AddInputOptions, 'cumulate'> = {}): void {
    if (this.buffer === undefined || this.nonzeroFlag) this.zero(null, options.nFramesBuffer ?? null);
    if (typeof x === 'number') {
      this.addToInputs(options, () => x, [1, 1, 1, 1]);
    } else {
      this.addToInputs(options, (_s, f) => x[f]!, [1, x.length, 1, 1]);
    }
  }

  private addToInputs(
    options: AddInputOptions,
    value: (s: number, f: number, r: number, h: number) => number,
    xShape: readonly number[],
  ): void {
    const buf = this.buffer!;
    const [from, to] = sliceRange(options.start, options.stop, this.nFrames);
    const target = [this.nSamples, to - from, this.inputIndex.length, this.nInputElements];
    const ok = xShape.length === 4 && xShape.every((d, i) => d === target[i] || d === 1);
    if (!ok) {
      throw new StimulusError(
        `input has shape ${fmt(xShape)} but buffer has shape ${fmt(this.shape)} (frames ${from}:${to} of ${this.inputIndex.length} input cell types x ${this.nInputElements} hexals)`,
      );
    }
    for (let s = 0; s < this.nSamples; s++) {
      for (let f = from; f < to; f++) {
        const base = (s * this.nFrames + f) * this.nNodes;
        for (let r = 0; r < this.inputIndex.length; r++) {
          const idx = this.inputIndex[r]!;
          for (let h = 0; h < idx.length; h++) {
            const v = value(s, f - from, r, h);
            const k = base + idx[h]!;
            const before = buf[k]!;
            // Checked after the conversion to float32: a finite float64 beyond float32 range
            // (1e300) becomes Infinity in the buffer, as does a sum that overflows.
            buf[k] = before + v;
            const after = buf[k]!;
            if (after - after !== 0) {
              this.zero();
              const where = `sample ${s}, frame ${f - from}, hexal ${h}`;
              if (!Number.isFinite(v)) throw new StimulusError(`input: non-finite value ${v} at ${where}`);
              if (Math.fround(v) - Math.fround(v) !== 0) {
                throw new StimulusError(`input: value ${v} at ${where} is beyond float32 range (|x| <= ${FLOAT32_MAX})`);
              }
              throw new StimulusError(`input: adding ${v} at ${where} to ${before} overflows float32 (|x| <= ${FLOAT32_MAX})`);
            }
          }
        }
      }
    }
    this.nonzeroFlag = true;
  }

  call(): { readonly data: Float32Array; readonly shape: [number, number, number] } {
    if (this.buffer === undefined) this.zero();
    return { data: this.buffer!, shape: this.shape };
  }
}

export type StimulusFactory = (connectome: Connectome, config: Readonly<Record<string, unknown>>) => StimulusProtocol;

const STIMULI = new Map<string, StimulusFactory>([
  [
    'Stimulus',
    (c, cfg) =>
      new Stimulus(c, (cfg.n_samples as number | undefined) ?? 1, (cfg.n_frames as number | undefined) ?? 1, (cfg.init_buffer as boolean | undefined) ?? true),
  ],
]);

/** Registers a stimulus type under a name usable as `stimulus_config.type`. */
export function registerStimulus(name: string, factory: StimulusFactory): void {
  STIMULI.set(name, factory);
}

/** flyvis `init_stimulus`: builds the stimulus named by `config.type`. */
export function initStimulus(connectome: Connectome, config: Readonly<Record<string, unknown>> = { type: 'Stimulus' }): StimulusProtocol {
  const type = config.type;
  const factory = typeof type === 'string' ? STIMULI.get(type) : undefined;
  if (factory === undefined) {
    throw new StimulusError(`stimulus_config.type: unknown stimulus type ${JSON.stringify(type)} (registered: ${[...STIMULI.keys()].join(', ')})`);
  }
  return factory(connectome, config);
}
