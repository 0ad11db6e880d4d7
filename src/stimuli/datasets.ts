// Stimulus datasets in the shape Network.stimulusResponse consumes (flyvis's
// SequenceDataset/StimulusDataset): `length`, `get(i)` -> (frames, hexals), and a `dt` that the
// network sets before reading items. Items are rendered for the current dt on access, so the
// network's dt decides the frame count. Every dataset labels its items (`params`) and tells
// where its time origin is (`tPre`: seconds of grey at the start of each item).
import { BYTES_PER_VALUE, checkMemory, checkSimulation, formatCount, latticePoints } from '../budget.ts';
import { BoxEye } from './box-eye.ts';
import { checkInteger, checkNonEmpty, checkPositive, checkFinite, fail } from './errors.ts';
import { discIndices, hexLattice, type HexLattice } from './hex.ts';
import { HexEye, LED_DEG, OMMATIDIUM_DEG } from './hex-eye.ts';
import { concatFrames, constantFrames, pad, resample, type Frames, type PadMode } from './movie.ts';

/** A labelled item's parameters, e.g. { angle: 30, intensity: 1, speed: 4.8 }. */
export type ItemParams = Readonly<Record<string, number>>;

export interface StimulusDataset {
  readonly name: string;
  readonly length: number;
  dt?: number;
  /** Item i at the current dt: (frames, hexals). */
  get(index: number): Frames;
  /** Number of frames of item i at the current dt (without rendering it). */
  frameCount(index: number): number;
  readonly params: readonly ItemParams[];
  /** Seconds of grey before the stimulus in every item: frame k is at time k dt - tPre. */
  readonly tPre: number;
  /** Configuration in flyvis's names (for the result files). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly nHexals: number;
}

function currentDt(d: { dt?: number }, name: string): number {
  const dt = d.dt;
  if (dt === undefined) throw new RangeError(`${name}.dt: not set (the network sets it; or pass dt)`);
  return checkPositive(`${name}.dt`, dt);
}

function checkIndex(i: number, length: number, name: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= length) fail(`${name} index`, `an integer in [0, ${length})`, i);
}

// -- size checks: the input budget (src/budget.ts), before anything is allocated ---------------

/**
 * Refuses a receptor lattice, and with `ppo` a HexEye's monitor (ppo (2 extent + 1) pixels
 * square), above the memory budget. Malformed values are left to the constructors' checks.
 */
function checkLattice(name: string, extent: unknown, ppo?: unknown): void {
  if (typeof extent !== 'number' || !Number.isSafeInteger(extent) || extent < 0) return;
  const hexals = latticePoints(extent);
  let what = `${name}: extent ${extent} gives ${formatCount(hexals)} hexals`;
  let bytes = hexals * 2 * BYTES_PER_VALUE;
  if (typeof ppo === 'number' && Number.isSafeInteger(ppo) && ppo >= 1) {
    const side = ppo * (2 * extent + 1);
    what += ` on a ${formatCount(side)} x ${formatCount(side)} pixel monitor (ppo ${ppo})`;
    bytes += side * side * 2 * BYTES_PER_VALUE; // a rendered image, and every hexal's pixels
  }
  checkMemory(what, bytes);
}

/** Refuses rendering item `index` at the current dt above the step or memory budget (frames x hexals). */
function checkItem(d: StimulusDataset, index: number): void {
  checkSimulation(`${d.name}[${index}] at dt ${d.dt} s`, { batch: 1, steps: d.frameCount(index), nodes: d.nHexals, records: 3 });
}

function product<T extends readonly unknown[][]>(...lists: T): { [K in keyof T]: T[K] extends (infer E)[] ? E : never }[] {
  let out: unknown[][] = [[]];
  for (const l of lists) out = out.flatMap((p) => l.map((x) => [...p, x]));
  return out as never;
}

// -- flashes -------------------------------------------------------------------------------

export interface FlashesOptions {
  readonly extent?: number;
  /** [low, high]: flashes step from their mean to low (OFF) or high (ON). Default [0, 1]. */
  readonly dynamicRange?: readonly [number, number];
  readonly tStim?: number;
  readonly tPre?: number;
  readonly dt?: number;
  /** Disc radii in columns; -1 is the full field. Default [-1, 6]. */
  readonly radius?: readonly number[];
  /** 0 = grey for tPre, 1 = flash for tStim. Default [0, 1, 0]; must start with 0. */
  readonly alternations?: readonly number[];
}

/** flyvis `Flashes`: ON and OFF flashes, full field and discs, between grey periods. */
export class Flashes implements StimulusDataset {
  readonly name = 'flashes';
  readonly params: ItemParams[];
  readonly tPre: number;
  readonly tStim: number;
  readonly baseline: number;
  readonly alternations: readonly number[];
  readonly config: Record<string, unknown>;
  readonly lattice: HexLattice;
  dt?: number;

  constructor(o: FlashesOptions = {}) {
    checkLattice(this.name, o.extent ?? 15);
    this.lattice = hexLattice(o.extent ?? 15);
    const range = o.dynamicRange ?? [0, 1];
    if (range.length !== 2) fail('dynamic_range', 'two intensities [low, high]', range);
    range.forEach((x, i) => checkFinite(`dynamic_range[${i}]`, x));
    this.baseline = (range[0] + range[1]) / 2;
    this.tStim = checkPositive('t_stim', o.tStim ?? 1);
    this.tPre = checkFinite('t_pre', o.tPre ?? 1);
    if (this.tPre < 0) fail('t_pre', 'a number >= 0', this.tPre);
    const radius = checkNonEmpty('radius', o.radius ?? [-1, 6]);
    radius.forEach((r, i) => (r === -1 ? r : checkInteger(`radius[${i}]`, r, 0)));
    this.alternations = o.alternations ?? [0, 1, 0];
    if (this.alternations[0] !== 0 || this.alternations.some((a) => a !== 0 && a !== 1)) fail('alternations', 'a list of 0 and 1 starting with 0', this.alternations);
    this.params = product([...range], [...radius]).map(([intensity, r]) => ({ baseline: this.baseline, intensity, radius: r }));
    this.dt = o.dt ?? 1 / 200;
    this.config = { extent: this.lattice.extent, dynamic_range: [...range], t_stim: this.tStim, t_pre: this.tPre, radius: [...radius], alternations: [...this.alternations] };
  }

  get length(): number {
    return this.params.length;
  }

  get nHexals(): number {
    return this.lattice.length;
  }

  frameCount(index: number): number {
    checkIndex(index, this.length, this.name);
    const dt = currentDt(this, this.name);
    return this.alternations.reduce((s, a) => s + Math.trunc((a === 0 ? this.tPre : this.tStim) / dt), 0);
  }

  get(index: number): Frames {
    checkItem(this, index);
    const dt = currentDt(this, this.name);
    const p = this.params[index]!;
    const H = this.lattice.length;
    const frame = new Float32Array(H).fill(this.baseline);
    for (const h of discIndices(this.lattice, p.radius!)) frame[h] = p.intensity!;
    const on = resample({ data: frame, shape: [1, H] }, this.tStim, dt);
    const off = constantFrames(Math.trunc(this.tPre / dt), H, this.baseline);
    return concatFrames(this.alternations.map((a) => (a === 0 ? off : on)));
  }
}

// -- moving bars and edges -----------------------------------------------------------------

export interface MovingBarOptions {
  readonly extent?: number;
  /** Bar widths in LEDs (2.25°). Default [1, 2, 4]. */
  readonly widths?: readonly number[];
  /** Offsets in LEDs from the central column: [first, last + 1) or an explicit list. Default [-10, 11). */
  readonly offsets?: readonly number[];
  readonly intensities?: readonly number[];
  /** Speeds in columns (5.8°) per second. Default [2.4, 4.8, 9.7, 13, 19, 25]. */
  readonly speeds?: readonly number[];
  /** Bar height in LEDs. Default 9. */
  readonly height?: number;
  readonly dt?: number;
  /** Horizontal location of the path's centre in degrees (90 = centre of the monitor). */
  readonly barLocHorizontal?: number;
  readonly postPadMode?: PadMode;
  readonly tPre?: number;
  readonly tPost?: number;
  /** Directions of motion in degrees. Default 0, 30, ..., 330. */
  readonly angles?: readonly number[];
  readonly bgIntensity?: number;
  /** Pixels per ommatidium of the HexEye. Default 25. */
  readonly ppo?: number;
}

const DEFAULT_ANGLES = [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330];
const DEFAULT_SPEEDS = [2.4, 4.8, 9.7, 13, 19, 25];

/**
 * flyvis `MovingBar`: a bar stepping through `offsets` (LED positions) in direction `angle`
 * at `speed` columns/s; the stimulus lasts t_stim = n_offsets * 2.25° / (speed * 5.8°).
 * Items: t_pre grey, the resampled offsets, t_post of padding (grey, or the last frame).
 * Unlike flyvis, items are not NaN-padded to a common length: lengths differ by speed.
 */
export class MovingBar implements StimulusDataset {
  readonly name: string = 'moving-bars';
  readonly params: ItemParams[];
  readonly tPre: number;
  readonly tPost: number;
  readonly angles: readonly number[];
  readonly widths: readonly number[];
  readonly intensities: readonly number[];
  readonly speeds: readonly number[];
  readonly offsets: readonly number[];
  readonly tStimBySpeed: ReadonlyMap<number, number>;
  readonly postPadMode: PadMode;
  readonly bgIntensity: number;
  readonly config: Record<string, unknown>;
  readonly eye: HexEye;
  dt?: number;
  private readonly rendered = new Map<string, Frames>();
  private readonly height: number;
  private readonly barLoc: number;

  constructor(o: MovingBarOptions = {}) {
    checkLattice(this.name, o.extent ?? 15, o.ppo ?? 25);
    this.eye = new HexEye(o.extent ?? 15, o.ppo ?? 25);
    this.angles = checkNonEmpty('angles', o.angles ?? DEFAULT_ANGLES).map((a, i) => checkFinite(`angles[${i}]`, a));
    this.widths = checkNonEmpty('widths', o.widths ?? [1, 2, 4]).map((w, i) => checkPositive(`widths[${i}]`, w));
    this.intensities = checkNonEmpty('intensities', o.intensities ?? [0, 1]).map((x, i) => checkFinite(`intensities[${i}]`, x));
    this.speeds = checkNonEmpty('speeds', o.speeds ?? DEFAULT_SPEEDS).map((s, i) => checkPositive(`speeds[${i}]`, s));
    const off = o.offsets ?? [-10, 11];
    if (off.length === 2) {
      if (!(Number.isInteger(off[0]) && Number.isInteger(off[1]) && off[1]! > off[0]!)) fail('offsets', '[first, last + 1) integers with last + 1 > first, or a list of consecutive offsets', off);
      const n = off[1]! - off[0]!;
      checkMemory(`${this.name}: offsets [${off[0]}, ${off[1]}) give ${formatCount(n)} frames of ${formatCount(this.eye.hexals)} hexals per bar`, n * this.eye.hexals * BYTES_PER_VALUE);
      this.offsets = Array.from({ length: off[1]! - off[0]! }, (_, i) => off[0]! + i);
    } else {
      checkNonEmpty('offsets', off);
      if (off.some((x, i) => i > 0 && x - off[i - 1]! !== 1)) fail('offsets', 'consecutive offsets 1 LED apart', off);
      this.offsets = [...off];
    }
    this.height = checkPositive('height', o.height ?? 9);
    this.barLoc = checkFinite('bar_loc_horizontal', o.barLocHorizontal ?? 90);
    this.postPadMode = o.postPadMode ?? 'value';
    if (this.postPadMode !== 'value' && this.postPadMode !== 'continue') fail('post_pad_mode', "'value' or 'continue'", this.postPadMode);
    this.tPre = checkFinite('t_pre', o.tPre ?? 1);
    this.tPost = checkFinite('t_post', o.tPost ?? 1);
    if (this.tPre < 0) fail('t_pre', 'a number >= 0', this.tPre);
    if (this.tPost < 0) fail('t_post', 'a number >= 0', this.tPost);
    this.bgIntensity = checkFinite('bg_intensity', o.bgIntensity ?? 0.5);
    this.tStimBySpeed = new Map(this.speeds.map((s) => [s, (this.offsets.length * LED_DEG) / (s * OMMATIDIUM_DEG)]));
    this.params = product([...this.angles], [...this.widths], [...this.intensities], [...this.speeds]).map(([angle, width, intensity, speed]) => ({
      angle,
      width,
      intensity,
      t_stim: this.tStimBySpeed.get(speed)!,
      speed,
    }));
    this.dt = o.dt ?? 1 / 200;
    this.config = {
      extent: this.eye.extent,
      widths: [...this.widths],
      offsets: [this.offsets[0]!, this.offsets[this.offsets.length - 1]! + 1],
      intensities: [...this.intensities],
      speeds: [...this.speeds],
      height: this.height,
      bar_loc_horizontal_deg: this.barLoc,
      post_pad_mode: this.postPadMode,
      t_pre: this.tPre,
      t_post: this.tPost,
      angles: [...this.angles],
      ppo: this.eye.ppo,
    };
  }

  get length(): number {
    return this.params.length;
  }

  get nHexals(): number {
    return this.eye.hexals;
  }

  /** The bar at every offset (one frame each), rendered once per (angle, width, intensity). */
  offsetFrames(angle: number, width: number, intensity: number): Frames {
    const key = `${angle}/${width}/${intensity}`;
    let f = this.rendered.get(key);
    if (f === undefined) {
      f = this.eye.renderOffsetBars(
        { widthDeg: width * LED_DEG, heightDeg: this.height * LED_DEG, nBars: 1, intensity, bgIntensity: this.bgIntensity, angle, locHorizontalDeg: this.barLoc },
        this.offsets.map((x) => x * LED_DEG),
      );
      this.rendered.set(key, f);
    }
    return f;
  }

  frameCount(index: number): number {
    checkIndex(index, this.length, this.name);
    const dt = currentDt(this, this.name);
    const t = this.params[index]!.t_stim!;
    const stim = Math.max(0, Math.trunc(t / dt)); // resampleIndices(n, t, dt).length, without building it
    return Math.max(stim, Math.trunc((t + this.tPre) / dt), Math.trunc((t + this.tPre + this.tPost) / dt));
  }

  get(index: number): Frames {
    checkItem(this, index);
    const dt = currentDt(this, this.name);
    const p = this.params[index]!;
    const t = p.t_stim!;
    let seq = resample(this.offsetFrames(p.angle!, p.width!, p.intensity!), t, dt);
    seq = pad(seq, t + this.tPre, dt, { at: 'start', fill: this.bgIntensity });
    seq = pad(seq, t + this.tPre + this.tPost, dt, { at: 'end', mode: this.postPadMode, fill: this.bgIntensity });
    return seq;
  }
}

export type MovingEdgeOptions = Omit<MovingBarOptions, 'widths' | 'barLocHorizontal'>;

/**
 * flyvis `MovingEdge`: a bar 80 LEDs wide starting at 0° (so its leading edge sweeps the
 * offsets), post padding 'continue'. Height defaults to 80 LEDs, the value flyvis's
 * `moving_edge_responses` (the DSI analysis) uses (the class's own default is 9).
 */
export class MovingEdge extends MovingBar {
  override readonly name = 'moving-edges';
  constructor(o: MovingEdgeOptions = {}) {
    super({ height: 80, postPadMode: 'continue', ...o, widths: [80], barLocHorizontal: 0 });
  }
}

// -- gratings ------------------------------------------------------------------------------

export interface GratingsOptions {
  readonly extent?: number;
  readonly angles?: readonly number[];
  /** Spatial periods in degrees. Default [20]. */
  readonly periods?: readonly number[];
  /** Temporal frequencies in Hz (periods per second). Default [1, 2, 4]. */
  readonly temporalFrequencies?: readonly number[];
  /** Intensity of the bright and dark half periods. Default 1 and 0. */
  readonly intensity?: number;
  readonly bgIntensity?: number;
  readonly tPre?: number;
  readonly tStim?: number;
  readonly tPost?: number;
  readonly dt?: number;
  readonly ppo?: number;
}

/**
 * Drifting square-wave gratings (flyvis `render_grating_offsets` + `resample_grating`): the
 * grating at phase steps of half an ommatidium (2.9°), cycled at the temporal frequency,
 * moving in direction `angle`; tPre and tPost of grey 0.5 around tStim of motion.
 */
export class Gratings implements StimulusDataset {
  readonly name = 'gratings';
  readonly params: ItemParams[];
  readonly tPre: number;
  readonly tStim: number;
  readonly tPost: number;
  readonly config: Record<string, unknown>;
  readonly eye: HexEye;
  dt?: number;
  private readonly rendered = new Map<string, Frames>();
  private readonly intensity: number;
  private readonly bg: number;

  constructor(o: GratingsOptions = {}) {
    checkLattice(this.name, o.extent ?? 15, o.ppo ?? 25);
    this.eye = new HexEye(o.extent ?? 15, o.ppo ?? 25);
    const angles = checkNonEmpty('angles', o.angles ?? DEFAULT_ANGLES).map((a, i) => checkFinite(`angles[${i}]`, a));
    const periods = checkNonEmpty('periods', o.periods ?? [20]).map((p, i) => checkPositive(`periods[${i}]`, p));
    const phaseFrames = periods.reduce((sum, p) => sum + Math.ceil(p / (OMMATIDIUM_DEG / 2)), 0);
    checkMemory(`${this.name}: periods give ${formatCount(phaseFrames)} phase frames of ${formatCount(this.eye.hexals)} hexals`, phaseFrames * this.eye.hexals * BYTES_PER_VALUE);
    const tfs = checkNonEmpty('temporal_frequencies', o.temporalFrequencies ?? [1, 2, 4]).map((f, i) => checkPositive(`temporal_frequencies[${i}]`, f));
    this.intensity = checkFinite('intensity', o.intensity ?? 1);
    this.bg = checkFinite('bg_intensity', o.bgIntensity ?? 0);
    this.tPre = checkFinite('t_pre', o.tPre ?? 1);
    this.tStim = checkPositive('t_stim', o.tStim ?? 2);
    this.tPost = checkFinite('t_post', o.tPost ?? 0);
    this.params = product([...angles], [...periods], [...tfs]).map(([angle, period, tf]) => ({ angle, period, temporal_frequency: tf, speed: period * tf }));
    this.dt = o.dt ?? 1 / 200;
    this.config = { extent: this.eye.extent, angles, periods, temporal_frequencies: tfs, intensity: this.intensity, bg_intensity: this.bg, t_pre: this.tPre, t_stim: this.tStim, t_post: this.tPost };
  }

  get length(): number {
    return this.params.length;
  }

  get nHexals(): number {
    return this.eye.hexals;
  }

  private phases(angle: number, period: number): Frames {
    const key = `${angle}/${period}`;
    let f = this.rendered.get(key);
    if (f === undefined) {
      const step = OMMATIDIUM_DEG / 2;
      const n = Math.ceil(period / step - 1e-9);
      const H = this.eye.hexals;
      const data = new Float32Array(n * H);
      for (let k = 0; k < n; k++) data.set(this.eye.renderGrating({ periodDeg: period, phaseDeg: k * step, intensity: this.intensity, bgIntensity: this.bg, angle }), k * H);
      f = { data, shape: [n, H] };
      this.rendered.set(key, f);
    }
    return f;
  }

  frameCount(index: number): number {
    checkIndex(index, this.length, this.name);
    const dt = currentDt(this, this.name);
    return Math.trunc(this.tPre / dt) + Math.trunc(this.tStim / dt) + Math.trunc(this.tPost / dt);
  }

  get(index: number): Frames {
    checkItem(this, index);
    const dt = currentDt(this, this.name);
    const p = this.params[index]!;
    const H = this.eye.hexals;
    const cycle = resample(this.phases(p.angle!, p.period!), 1 / p.temporal_frequency!, dt);
    if (cycle.shape[0] === 0) fail('temporal_frequency', `at most 1 / dt = ${1 / dt} Hz`, p.temporal_frequency);
    const n = Math.trunc(this.tStim / dt);
    const stim = new Float32Array(n * H);
    for (let k = 0; k < n; k++) stim.set(cycle.data.subarray((k % cycle.shape[0]) * H, (k % cycle.shape[0] + 1) * H), k * H);
    return concatFrames([constantFrames(Math.trunc(this.tPre / dt), H, 0.5), { data: stim, shape: [n, H] }, constantFrames(Math.trunc(this.tPost / dt), H, 0.5)]);
  }
}

// -- dots and impulses ---------------------------------------------------------------------

export interface DotsOptions {
  readonly extent?: number;
  /** Radius of each dot in columns (0: a single column). */
  readonly dotColumnRadius?: number;
  /** Dots at every column within this hexagonal radius of the centre. */
  readonly maxExtent?: number;
  readonly bgIntensity?: number;
  readonly tStim?: number;
  readonly dt?: number;
  readonly tPre?: number;
  readonly tPost?: number;
  /** ON intensity; the OFF dot is 2 bg - intensity. */
  readonly intensity?: number;
  readonly mode?: 'sustained' | 'impulse';
  /** Impulse durations in seconds ('impulse' mode). Default [dt]. */
  readonly impulseDurations?: readonly number[];
}

/**
 * flyvis `Dots` / `CentralImpulses` / `SpatialImpulses`: a dot (one column, or a disc) at each
 * column within maxExtent, OFF (2 bg - intensity) and ON (intensity), held ('sustained') or
 * flashed for t_impulse ('impulse'), after tPre of background. Rendered in receptor space.
 */
export class Dots implements StimulusDataset {
  readonly name: string = 'dots';
  readonly params: ItemParams[];
  readonly tPre: number;
  readonly tStim: number;
  readonly tPost: number;
  readonly bgIntensity: number;
  readonly mode: 'sustained' | 'impulse';
  readonly config: Record<string, unknown>;
  readonly lattice: HexLattice;
  dt?: number;
  private readonly discs: Int32Array[];

  constructor(o: DotsOptions = {}) {
    checkLattice(this.name, o.extent ?? 15);
    this.lattice = hexLattice(o.extent ?? 15);
    const radius = checkInteger('dot_column_radius', o.dotColumnRadius ?? 0, 0);
    const maxExtent = checkInteger('max_extent', o.maxExtent ?? this.lattice.extent, 0);
    if (radius > maxExtent) fail('dot_column_radius', `at most max_extent (${maxExtent})`, radius);
    const dots = latticePoints(Math.min(maxExtent, this.lattice.extent));
    checkMemory(`${this.name}: ${formatCount(dots)} dots of radius ${radius}`, dots * latticePoints(radius) * BYTES_PER_VALUE);
    this.bgIntensity = checkFinite('bg_intensity', o.bgIntensity ?? 0.5);
    this.tStim = checkPositive('t_stim', o.tStim ?? 5);
    this.tPre = checkFinite('t_pre', o.tPre ?? 2);
    this.tPost = checkFinite('t_post', o.tPost ?? 0);
    const intensity = checkFinite('intensity', o.intensity ?? 1);
    this.mode = o.mode ?? 'sustained';
    if (this.mode !== 'sustained' && this.mode !== 'impulse') fail('mode', "'sustained' or 'impulse'", this.mode);
    this.dt = o.dt ?? 1 / 200;
    const durations = o.impulseDurations ?? [0];
    durations.forEach((d, i) => (d === 0 ? d : checkPositive(`impulse_durations[${i}]`, d)));
    const centres: number[] = [];
    for (let i = 0; i < this.lattice.length; i++) {
      const u = this.lattice.u[i]!;
      const v = this.lattice.v[i]!;
      if (Math.abs(u) <= maxExtent && Math.abs(v) <= maxExtent && Math.abs(u + v) <= maxExtent) centres.push(i);
    }
    this.discs = centres.map((i) => discIndices(this.lattice, radius, this.lattice.u[i]!, this.lattice.v[i]!));
    const intensities = [2 * this.bgIntensity - intensity, intensity];
    this.params = product(centres.map((_, k) => k), intensities, [...durations]).map(([k, x, d]) => ({
      u: this.lattice.u[centres[k]!]!,
      v: this.lattice.v[centres[k]!]!,
      offset: centres[k]!,
      dot: k,
      intensity: x,
      t_impulse: d,
    }));
    this.config = { extent: this.lattice.extent, dot_column_radius: radius, max_extent: maxExtent, bg_intensity: this.bgIntensity, t_stim: this.tStim, t_pre: this.tPre, t_post: this.tPost, intensity, mode: this.mode, impulse_durations: durations };
  }

  get length(): number {
    return this.params.length;
  }

  get nHexals(): number {
    return this.lattice.length;
  }

  private impulseFrames(p: ItemParams, dt: number): number {
    // t_impulse 0 means one frame (flyvis's default t_impulse = dt).
    const t = p.t_impulse! || dt;
    const n = Math.trunc(t / dt);
    if (n < 1) fail('impulse_durations', `durations >= dt (${dt} s)`, t);
    return n;
  }

  frameCount(index: number): number {
    checkIndex(index, this.length, this.name);
    const dt = currentDt(this, this.name);
    const stim = this.mode === 'sustained' ? Math.trunc(this.tStim / dt) : Math.max(this.impulseFrames(this.params[index]!, dt), Math.trunc(this.tStim / dt));
    return Math.max(stim, Math.trunc((this.tStim + this.tPre) / dt), Math.trunc((this.tStim + this.tPre + this.tPost) / dt));
  }

  get(index: number): Frames {
    checkItem(this, index);
    const dt = currentDt(this, this.name);
    const p = this.params[index]!;
    const H = this.lattice.length;
    const dot = new Float32Array(H).fill(this.bgIntensity);
    for (const h of this.discs[p.dot!]!) dot[h] = p.intensity!;
    let seq: Frames;
    if (this.mode === 'sustained') seq = resample({ data: dot, shape: [1, H] }, this.tStim, dt);
    else {
      const n = this.impulseFrames(p, dt);
      const data = new Float32Array(n * H);
      for (let k = 0; k < n; k++) data.set(dot, k * H);
      seq = pad({ data, shape: [n, H] }, this.tStim, dt, { fill: this.bgIntensity });
    }
    seq = pad(seq, this.tStim + this.tPre, dt, { at: 'start', fill: this.bgIntensity });
    return pad(seq, this.tStim + this.tPre + this.tPost, dt, { fill: this.bgIntensity });
  }
}

/** flyvis `CentralImpulses`: impulses in the central column, for temporal receptive fields. */
export class CentralImpulses extends Dots {
  override readonly name = 'central-impulses';
  constructor(o: Omit<DotsOptions, 'maxExtent' | 'mode'> = {}) {
    super({ impulseDurations: [5e-3, 20e-3, 50e-3, 100e-3, 200e-3, 300e-3], ...o, maxExtent: o.dotColumnRadius ?? 0, mode: 'impulse' });
  }
}

/** flyvis `SpatialImpulses`: impulses in every column within maxExtent (default 4), for spatial receptive fields. */
export class SpatialImpulses extends Dots {
  override readonly name = 'spatial-impulses';
  constructor(o: Omit<DotsOptions, 'mode'> = {}) {
    super({ impulseDurations: [5e-3, 20e-3], maxExtent: 4, ...o, mode: 'impulse' });
  }
}

// -- user movies ---------------------------------------------------------------------------

export interface UserMoviesOptions {
  /** Seconds per movie frame; when set, movies are resampled to the network's dt. */
  readonly frameDt?: number;
  /** Seconds of the movie before the stimulus proper (time origin); default 0. */
  readonly tPre?: number;
  readonly names?: readonly string[];
}

/**
 * A user's own movies on the receptor lattice: (samples, frames, hexals) or
 * (samples, frames, 1, hexals) arrays. With `frameDt`, each movie (frameDt * frames seconds)
 * is resampled to the network's dt as flyvis resamples its renderings; without, frames are
 * used one per integration step.
 */
export class UserMovies implements StimulusDataset {
  readonly name = 'movies';
  readonly params: ItemParams[];
  readonly tPre: number;
  readonly config: Record<string, unknown>;
  readonly nHexals: number;
  dt?: number;
  private readonly nFrames: number;
  private readonly data: Float32Array;

  constructor(movies: { readonly data: ArrayLike<number>; readonly shape: readonly number[] }, private readonly o: UserMoviesOptions = {}) {
    const s = movies.shape;
    const ok = s.length === 3 || (s.length === 4 && s[2] === 1);
    if (!ok) fail('movie', 'shape (samples, frames, hexals) or (samples, frames, 1, hexals)', `(${s.join(', ')})`);
    const [S, T] = s as [number, number];
    const H = s[s.length - 1]!;
    if (movies.data.length !== S * T * H) fail('movie', `${S * T * H} values for shape (${s.join(', ')})`, movies.data.length);
    if (S < 1 || T < 1) fail('movie', 'at least one sample and one frame', `(${s.join(', ')})`);
    this.data = Float32Array.from(movies.data);
    for (let i = 0; i < this.data.length; i++) if (!Number.isFinite(this.data[i]!)) fail('movie', 'finite values', `${this.data[i]} at flat index ${i}`);
    this.nFrames = T;
    this.nHexals = H;
    if (o.frameDt !== undefined) checkPositive('frame_dt', o.frameDt);
    this.tPre = checkFinite('t_pre', o.tPre ?? 0);
    this.params = Array.from({ length: S }, (_, i) => ({ movie: i }));
    this.config = { n_movies: S, n_frames: T, n_hexals: H, frame_dt: o.frameDt ?? null, names: o.names ?? null };
  }

  get length(): number {
    return this.params.length;
  }

  frameCount(index: number): number {
    checkIndex(index, this.length, this.name);
    return this.o.frameDt === undefined ? this.nFrames : Math.trunc((this.nFrames * this.o.frameDt) / currentDt(this, this.name));
  }

  get(index: number): Frames {
    checkItem(this, index);
    const H = this.nHexals;
    const movie: Frames = { data: this.data.subarray(index * this.nFrames * H, (index + 1) * this.nFrames * H), shape: [this.nFrames, H] };
    return this.o.frameDt === undefined ? movie : resample(movie, this.nFrames * this.o.frameDt, currentDt(this, this.name));
  }

  /** Cartesian movies (samples, frames, height, width) through a BoxEye of the given extent. */
  static fromImages(images: { readonly data: ArrayLike<number>; readonly shape: readonly number[] }, extent = 15, kernelSize = 13, o: UserMoviesOptions = {}): UserMovies {
    return new UserMovies(new BoxEye(extent, kernelSize).render(images), o);
  }
}
