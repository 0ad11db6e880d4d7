// flyvis's DecoderGAVP (flyvis/task/decoder.py) as pure functions over autograd tensors.
//
// The architecture (`decoderGAVP(config, connectome)`) is a plain description: the map geometry of
// the connectome's output cell types, the layers of flyvis's `base` and `decoder` nn.Sequentials
// with their state_dict names, and the parameter shapes. The parameters are a record keyed by
// those state_dict names (`base.0.weight`, `base.1.running_mean`, ..., `decoder.0.bias`), so a
// flyvis checkpoint's `decoder.flow` loads as it is and saves back under the same names.
//
// decode(decoder, params, activity, { training, rng }) is flyvis's DecoderGAVP.forward:
// relu(activity of the output types) -> cartesian map (samples and frames on one batch axis) ->
// base: [Conv2dHexSpace -> BatchNorm2d -> activation (Softplus) -> Dropout] per hidden layer ->
// decoder: Conv2dHexSpace to out_channels + 1 -> out[:, :C] / (softplus(out[:, C:]) + 1) -> read
// back at the hexals -> (samples, frames, C, hexals) (or a global average over hexals with
// n_out_features). Evaluation mode (training false, flyvis's decoder.eval()) uses BatchNorm's
// running averages and no dropout; training mode normalises by the batch's statistics, applies
// dropout with masks drawn from `rng`, and returns the updated running averages as new tensors
// (`buffers`) instead of writing them: merge them into the params for the next call.
//
// Not bit-identical to flyvis, by construction: dropout masks (torch draws them from its own
// generator; here element i of the flattened (batch, channels, H, W) activation is kept when
// rng() >= p, then scaled by 1 / (1 - p)), and the random initialisation when const_weight is
// null (torch's kaiming-uniform draws; here the same distributions from `rng`).
import { add, div, elu, leakyrelu, mean, mul, relu, reshape, sigmoid, slice, softplus, tanh } from '../autograd/index.ts';
import { Tensor, allocate, formatShape, type Shape } from '../autograd/tensor.ts';
import { indexSelect } from '../autograd/structural.ts';
import type { Connectome } from '../graph/types.ts';
import { TorchDict, TorchTensor } from '../io/torch/values.ts';
import { batchNorm2d } from './batch-norm.ts';
import { conv2dHex, hexKernelMask } from './conv2d-hex.ts';
import { DecoderError, gatherOrZero, hexMapGeometry, type HexMapGeometry } from './hex-map.ts';

export { DecoderError } from './hex-map.ts';

/** flyvis's decoder config (`task.decoder.<task>` in 1.x, `task_decoder` in 0.1), DecoderGAVP's arguments. */
export interface DecoderGAVPConfig {
  readonly type: 'DecoderGAVP';
  /** Channels of each hidden layer, then the output channels (0 skips a hidden layer). */
  readonly shape: readonly number[];
  /** Odd kernel size of every Conv2dHexSpace. */
  readonly kernel_size: number;
  /** Dropout probability after each hidden layer (default 0.5; 0: no Dropout module). */
  readonly p_dropout?: number;
  /** BatchNorm2d after each hidden convolution (default true). */
  readonly batch_norm?: boolean;
  /** With a number: global average over hexals, output (samples, frames, shape[-1], n_out_features). Default null. */
  readonly n_out_features?: number | null;
  /** Initial value of every convolution weight and bias (then masked); null: torch's default init. Default null. */
  readonly const_weight?: number | null;
  /** An extra output channel c, the output divided by softplus(c) + 1 (default true). */
  readonly normalize_last?: boolean;
  /** torch.nn activation after each hidden layer (default 'Softplus'). */
  readonly activation?: string;
}

/** The flow decoder of flyvis's task config (flyvis/config/task/task.yaml, `decoder.flow`). */
export const FLOW_DECODER_CONFIG: DecoderGAVPConfig = Object.freeze({
  type: 'DecoderGAVP',
  shape: Object.freeze([8, 2]),
  kernel_size: 5,
  const_weight: 0.001,
  n_out_features: null,
  p_dropout: 0.5,
});

/** torch.nn activations a DecoderGAVP may use, with torch's default arguments. */
const ACTIVATIONS: Readonly<Record<string, (x: Tensor) => Tensor>> = {
  Softplus: (x) => softplus(x, 1, 20),
  ReLU: relu,
  ELU: (x) => elu(x, 1),
  LeakyReLU: (x) => leakyrelu(x, 0.01),
  Tanh: tanh,
  Sigmoid: sigmoid,
  Identity: (x) => x,
};

export type DecoderLayer =
  | { readonly kind: 'conv'; readonly name: string; readonly inChannels: number; readonly outChannels: number; readonly kernelSize: number; readonly padding: number; readonly mask: Uint8Array | null }
  | { readonly kind: 'batchnorm'; readonly name: string; readonly channels: number }
  | { readonly kind: 'activation'; readonly name: string; readonly activation: string }
  | { readonly kind: 'dropout'; readonly name: string; readonly p: number };

/** A DecoderGAVP's architecture: geometry, layers, parameter names and shapes. */
export interface DecoderGAVP {
  readonly type: 'DecoderGAVP';
  /** The config with flyvis's defaults filled in. */
  readonly config: Required<DecoderGAVPConfig>;
  readonly geometry: HexMapGeometry;
  /** flyvis's `base` then `decoder` modules, named as in the state_dict ('base.0', 'decoder.0'). */
  readonly layers: readonly DecoderLayer[];
  /** Output channels before the normalising channel: shape[-1] (times n_out_features). */
  readonly outChannels: number;
  /** The state_dict: every entry's name and shape, in torch's order. */
  readonly stateShapes: ReadonlyMap<string, Shape>;
  /** The trainable entries (nn.Module.parameters()), in order: weights and biases. */
  readonly parameterNames: readonly string[];
  /** The buffers: BatchNorm's running_mean, running_var, num_batches_tracked. */
  readonly bufferNames: readonly string[];
}

/** Decoder parameters and buffers by state_dict name. num_batches_tracked is a float64 scalar. */
export type DecoderParams = Readonly<Record<string, Tensor>>;

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v));

/**
 * A decoder config checked and completed with flyvis's defaults (DecoderGAVP's signature). Errors
 * name `where` and the field: type other than DecoderGAVP, unknown fields (DecoderGAVP would
 * refuse them as keyword arguments), malformed values, an even kernel size.
 */
export function decoderConfigFrom(raw: unknown, where = 'decoder config'): Required<DecoderGAVPConfig> {
  if (!isRecord(raw)) throw new DecoderError(`${where}: expected an object with type, shape, kernel_size, ..., got ${show(raw)}`);
  const problems: string[] = [];
  if (raw.type !== 'DecoderGAVP') problems.push(`type: expected 'DecoderGAVP' (flyvis's decoder), got ${show(raw.type)}`);
  const known = new Set(['type', 'shape', 'kernel_size', 'p_dropout', 'batch_norm', 'n_out_features', 'const_weight', 'normalize_last', 'activation']);
  for (const k of Object.keys(raw)) if (!known.has(k)) problems.push(`${k}: not an argument of DecoderGAVP (expected ${[...known].join(', ')})`);
  const count = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
  const shape = raw.shape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every(count) || (shape[shape.length - 1] as number) < 1) {
    problems.push(`shape: expected a list of channel counts ending with the output channels (>= 1), e.g. [8, 2], got ${show(shape)}`);
  }
  const k = raw.kernel_size;
  if (!Number.isSafeInteger(k) || (k as number) < 1) problems.push(`kernel_size: expected a positive odd integer, got ${show(k)}`);
  else if ((k as number) % 2 === 0) problems.push(`kernel_size: ${k} is even. Must be odd.`);
  const p = raw.p_dropout ?? 0.5;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) problems.push(`p_dropout: expected a probability from 0 to 1, got ${show(raw.p_dropout)}`);
  for (const b of ['batch_norm', 'normalize_last'] as const) {
    if (raw[b] !== undefined && typeof raw[b] !== 'boolean') problems.push(`${b}: expected true or false, got ${show(raw[b])}`);
  }
  const nof = raw.n_out_features ?? null;
  if (nof !== null && !(Number.isSafeInteger(nof) && (nof as number) >= 1)) problems.push(`n_out_features: expected null or a positive integer, got ${show(nof)}`);
  const cw = raw.const_weight ?? null;
  if (cw !== null && !(typeof cw === 'number' && Number.isFinite(cw))) problems.push(`const_weight: expected null or a finite number, got ${show(cw)}`);
  const act = raw.activation ?? 'Softplus';
  if (typeof act !== 'string' || !(act in ACTIVATIONS)) problems.push(`activation: expected one of ${Object.keys(ACTIVATIONS).join(', ')}, got ${show(act)}`);
  if (problems.length > 0) throw new DecoderError(`${where}: ${problems.join('; ')}`);
  return {
    type: 'DecoderGAVP',
    shape: [...(shape as number[])],
    kernel_size: k as number,
    p_dropout: p as number,
    batch_norm: (raw.batch_norm as boolean | undefined) ?? true,
    n_out_features: nof as number | null,
    const_weight: cw as number | null,
    normalize_last: (raw.normalize_last as boolean | undefined) ?? true,
    activation: act as string,
  };
}

/**
 * The flow decoder config of a flyvis run config (a network directory's `_meta.yaml` config):
 * 1.x's `task.decoder.flow`, 0.1's `task_decoder`; undefined when it has neither.
 */
export function flowDecoderConfigOf(runConfig: unknown): unknown {
  if (!isRecord(runConfig)) return undefined;
  const task = runConfig.task;
  if (isRecord(task) && isRecord(task.decoder) && task.decoder.flow !== undefined) return task.decoder.flow;
  return runConfig.task_decoder;
}

/** flyvis's DecoderGAVP on a connectome: its layers, state_dict names and shapes, and map geometry. */
export function decoderGAVP(config: DecoderGAVPConfig | Record<string, unknown>, connectome: Connectome): DecoderGAVP {
  const c = decoderConfigFrom(config);
  const geometry = hexMapGeometry(connectome);
  const k = c.kernel_size;
  const padding = (k - 1) / 2;
  const mask = k > 1 ? hexKernelMask(k) : null;
  const layers: DecoderLayer[] = [];
  const stateShapes = new Map<string, Shape>();
  const parameterNames: string[] = [];
  const bufferNames: string[] = [];
  const conv = (name: string, inChannels: number, outChannels: number): void => {
    layers.push({ kind: 'conv', name, inChannels, outChannels, kernelSize: k, padding, mask });
    stateShapes.set(`${name}.weight`, [outChannels, inChannels, k, k]);
    stateShapes.set(`${name}.bias`, [outChannels]);
    parameterNames.push(`${name}.weight`, `${name}.bias`);
  };
  const bn = (name: string, channels: number): void => {
    layers.push({ kind: 'batchnorm', name, channels });
    for (const [s, shape] of [['weight', [channels]], ['bias', [channels]], ['running_mean', [channels]], ['running_var', [channels]], ['num_batches_tracked', []]] as const) {
      stateShapes.set(`${name}.${s}`, shape);
    }
    parameterNames.push(`${name}.weight`, `${name}.bias`);
    bufferNames.push(`${name}.running_mean`, `${name}.running_var`, `${name}.num_batches_tracked`);
  };
  let inChannels = geometry.cellTypes.length;
  const outLast = c.shape[c.shape.length - 1]!;
  const outChannels = c.n_out_features !== null ? outLast * c.n_out_features : outLast;
  let i = 0;
  for (const ch of c.shape.slice(0, -1)) {
    if (ch === 0) continue;
    conv(`base.${i++}`, inChannels, ch);
    if (c.batch_norm) bn(`base.${i++}`, ch);
    layers.push({ kind: 'activation', name: `base.${i++}`, activation: c.activation });
    if (c.p_dropout) layers.push({ kind: 'dropout', name: `base.${i++}`, p: c.p_dropout });
    inChannels = ch;
  }
  let j = 0;
  if (i === 0 && c.batch_norm) bn(`decoder.${j++}`, inChannels);
  conv(`decoder.${j++}`, inChannels, c.normalize_last ? outChannels + 1 : outChannels);
  return { type: 'DecoderGAVP', config: c, geometry, layers, outChannels, stateShapes, parameterNames, bufferNames };
}

export interface InitDecoderOptions {
  /** Uniform [0, 1) numbers for torch's default init when const_weight is null (default Math.random). */
  readonly rng?: () => number;
  readonly dtype?: 'float32' | 'float64';
}

/**
 * flyvis's initial decoder parameters: every convolution's weight and bias filled with
 * const_weight (Conv2dConstWeight), else torch's default (kaiming-uniform weight and uniform bias,
 * both within +-1 / sqrt(in_channels k k), drawn from `rng`); weights then multiplied by the hex
 * mask; BatchNorm weight 1, bias 0, running mean 0, running variance 1, num_batches_tracked 0.
 */
export function initDecoderParams(decoder: DecoderGAVP, options: InitDecoderOptions = {}): DecoderParams {
  const rng = options.rng ?? Math.random;
  const dtype = options.dtype ?? 'float32';
  const cw = decoder.config.const_weight;
  const out: Record<string, Tensor> = {};
  const filled = (shape: Shape, value: number): Tensor => {
    const data = allocate(shape.reduce((a, d) => a * d, 1), dtype);
    data.fill(value);
    return new Tensor(data, shape);
  };
  for (const layer of decoder.layers) {
    if (layer.kind === 'conv') {
      const wShape = decoder.stateShapes.get(`${layer.name}.weight`)!;
      const fanIn = layer.inChannels * layer.kernelSize * layer.kernelSize;
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      const w = filled(wShape, cw ?? 0);
      const b = filled([layer.outChannels], cw ?? 0);
      if (cw === null) {
        for (let q = 0; q < w.size; q++) w.data[q] = (2 * rng() - 1) * bound;
        for (let q = 0; q < b.size; q++) b.data[q] = (2 * rng() - 1) * bound;
      }
      out[`${layer.name}.weight`] = maskWeight(w, layer.mask);
      out[`${layer.name}.bias`] = b;
    } else if (layer.kind === 'batchnorm') {
      out[`${layer.name}.weight`] = filled([layer.channels], 1);
      out[`${layer.name}.bias`] = filled([layer.channels], 0);
      out[`${layer.name}.running_mean`] = filled([layer.channels], 0);
      out[`${layer.name}.running_var`] = filled([layer.channels], 1);
      out[`${layer.name}.num_batches_tracked`] = new Tensor(new Float64Array(1), []);
    }
  }
  return orderLike(decoder, out);
}

/**
 * flyvis's init_decoder for one task: the architecture of `config` on `connectome` and its
 * initial parameters.
 */
export function initDecoder(
  config: DecoderGAVPConfig | Record<string, unknown>,
  connectome: Connectome,
  options: InitDecoderOptions = {},
): { decoder: DecoderGAVP; params: DecoderParams } {
  const decoder = decoderGAVP(config, connectome);
  return { decoder, params: initDecoderParams(decoder, options) };
}

/** A weight (out, in, k, k) times the kernel mask (a new tensor; the same one without a mask). */
function maskWeight(w: Tensor, mask: Uint8Array | null): Tensor {
  if (mask === null) return w;
  const kk = mask.length;
  const data = allocate(w.size, w.dtype);
  for (let q = 0; q < w.size; q++) data[q] = w.data[q]! * mask[q % kk]!;
  return new Tensor(data, w.shape);
}

/**
 * flyvis's Conv2dHexSpace.filter_to_hex on every convolution: the weights multiplied by the hex
 * mask, as flyvis does in place before each forward pass. decode ignores masked entries anyway;
 * a trainer applies this to keep the stored values (and so the saved checkpoints) as flyvis's.
 */
export function filterToHex(decoder: DecoderGAVP, params: DecoderParams): DecoderParams {
  const out: Record<string, Tensor> = { ...params };
  for (const layer of decoder.layers) {
    if (layer.kind === 'conv') out[`${layer.name}.weight`] = maskWeight(need(params, `${layer.name}.weight`), layer.mask);
  }
  return out;
}

/** The trainable entries of params (weights and biases; what flyvis's optimizer updates). */
export function decoderTrainable(decoder: DecoderGAVP, params: DecoderParams): Record<string, Tensor> {
  return Object.fromEntries(decoder.parameterNames.map((n) => [n, need(params, n)]));
}

function need(params: DecoderParams, name: string): Tensor {
  const t = params[name];
  if (!(t instanceof Tensor)) throw new DecoderError(`decoder parameters: missing '${name}'`);
  return t;
}

function orderLike(decoder: DecoderGAVP, values: Readonly<Record<string, Tensor>>): DecoderParams {
  return Object.fromEntries([...decoder.stateShapes.keys()].map((n) => [n, values[n]!]));
}

export interface DecodeOptions {
  /** flyvis's decoder.train() (true) or decoder.eval() (false, the default). */
  readonly training?: boolean;
  /** Uniform [0, 1) numbers for dropout masks in training (default Math.random). */
  readonly rng?: () => number;
}

export interface DecodeResult {
  /** (samples, frames, out_channels, hexals), or (samples, frames, shape[-1], n_out_features). */
  readonly output: Tensor;
  /** Training: the updated BatchNorm buffers (running_mean, running_var, num_batches_tracked) by name; {} in evaluation. */
  readonly buffers: Readonly<Record<string, Tensor>>;
}

/** The dropout of torch.nn.Dropout(p) in training: x times a mask of 0 or 1 / (1 - p). */
function dropout(x: Tensor, p: number, rng: () => number): Tensor {
  const mask = allocate(x.size, x.dtype);
  const scale = p >= 1 ? 0 : 1 / (1 - p);
  for (let q = 0; q < mask.length; q++) mask[q] = rng() >= p ? scale : 0;
  return mul(x, new Tensor(mask, x.shape));
}

/**
 * flyvis's DecoderGAVP.forward on network activity (samples, frames, n_nodes): see the file
 * comment. Differentiable with respect to the activity and every weight and bias in params.
 */
export function decode(decoder: DecoderGAVP, params: DecoderParams, activity: Tensor, options: DecodeOptions = {}): DecodeResult {
  const g = decoder.geometry;
  if (!(activity instanceof Tensor) || activity.rank !== 3 || activity.shape[2] !== g.nNodes) {
    const got = activity instanceof Tensor ? formatShape(activity.shape) : typeof activity;
    throw new DecoderError(`decode: activity must have shape (samples, frames, ${g.nNodes}), got ${got}`);
  }
  for (const [name, shape] of decoder.stateShapes) {
    const t = need(params, name);
    if (t.shape.length !== shape.length || t.shape.some((d, q) => d !== shape[q])) {
      throw new DecoderError(`decoder parameters: '${name}' has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
    }
    if (t.dtype !== activity.dtype && !name.endsWith('.num_batches_tracked')) {
      throw new DecoderError(`decode: the activity is ${activity.dtype} but decoder parameter '${name}' is ${t.dtype} (load or initialise the decoder with dtype '${activity.dtype}')`);
    }
  }
  const [S, F] = activity.shape as [number, number];
  const training = options.training ?? false;
  const rng = options.rng ?? Math.random;
  const R = S * F;
  const C0 = g.cellTypes.length;
  // relu(activity of the output types) on the map; samples and frames share the batch axis
  let x = reshape(relu(gatherOrZero(reshape(activity, [R, g.nNodes]), g.mapIndex)), [R, C0, g.H, g.W]);
  const buffers: Record<string, Tensor> = {};
  for (const layer of decoder.layers) {
    const n = layer.name;
    if (layer.kind === 'conv') {
      x = conv2dHex(x, need(params, `${n}.weight`), need(params, `${n}.bias`), { padding: layer.padding, mask: layer.mask });
    } else if (layer.kind === 'batchnorm') {
      const r = batchNorm2d(x, need(params, `${n}.weight`), need(params, `${n}.bias`), need(params, `${n}.running_mean`), need(params, `${n}.running_var`), { training });
      x = r.out;
      if (training) {
        buffers[`${n}.running_mean`] = r.runningMean!;
        buffers[`${n}.running_var`] = r.runningVar!;
        const nbt = need(params, `${n}.num_batches_tracked`);
        buffers[`${n}.num_batches_tracked`] = new Tensor(Float64Array.of(nbt.data[0]! + 1), []);
      }
    } else if (layer.kind === 'activation') {
      x = ACTIVATIONS[layer.activation]!(x);
    } else if (training && layer.p > 0) {
      x = dropout(x, layer.p, rng);
    }
  }
  const C = decoder.outChannels;
  if (decoder.config.normalize_last) {
    x = div(slice(x, 1, 0, C), add(softplus(slice(x, 1, C, C + 1), 1, 20), 1));
  }
  let out = reshape(indexSelect(reshape(x, [R * C, g.H * g.W]), g.readIndex, 1), [S, F, C, g.nHexals]);
  const nof = decoder.config.n_out_features;
  if (nof !== null) out = reshape(mean(out, -1), [S, F, C / nof, nof]);
  return { output: out, buffers };
}

// ---------------------------------------------------------------- state dicts

/**
 * Decoder parameters from a state_dict (a flyvis checkpoint's `decoder.flow`: name -> tensor),
 * checked as torch's load_state_dict(strict=True) checks it: every entry present, nothing
 * unexpected, every shape as the architecture's; also finite floating-point values. Floating
 * tensors become float32 (or `dtype`), num_batches_tracked a float64 scalar. One DecoderError
 * names every problem.
 */
export function decoderParamsFromStateDict(
  decoder: DecoderGAVP,
  stateDict: ReadonlyMap<unknown, unknown> | Readonly<Record<string, unknown>>,
  options: { where?: string; dtype?: 'float32' | 'float64' } = {},
): DecoderParams {
  const where = options.where ?? 'decoder state_dict';
  const entries = stateDict instanceof Map ? [...stateDict.entries()] : Object.entries(stateDict);
  const given = new Map<string, unknown>();
  const problems: string[] = [];
  for (const [k, v] of entries) {
    if (typeof k !== 'string') problems.push(`non-string key ${String(k)}`);
    else given.set(k, v);
  }
  const missing = [...decoder.stateShapes.keys()].filter((n) => !given.has(n));
  const unexpected = [...given.keys()].filter((n) => !decoder.stateShapes.has(n));
  if (missing.length > 0) problems.push(`missing key(s) ${missing.map((n) => `"${n}"`).join(', ')}`);
  if (unexpected.length > 0) problems.push(`unexpected key(s) ${unexpected.map((n) => `"${n}"`).join(', ')}`);
  const out: Record<string, Tensor> = {};
  for (const [name, shape] of decoder.stateShapes) {
    const v = given.get(name);
    if (v === undefined) continue;
    const data = v instanceof TorchTensor ? v.data : v instanceof Tensor ? v.data : undefined;
    const vShape = v instanceof TorchTensor || v instanceof Tensor ? v.shape : undefined;
    if (data === undefined || vShape === undefined) {
      problems.push(`"${name}" is not a tensor`);
      continue;
    }
    if (vShape.length !== shape.length || vShape.some((d, q) => d !== shape[q])) {
      problems.push(`size mismatch for ${name}: the state_dict has shape ${formatShape(vShape)}, the decoder ${formatShape(shape)}`);
      continue;
    }
    if (name.endsWith('.num_batches_tracked')) {
      const n = data instanceof BigInt64Array ? Number(data[0]!) : typeof data[0] === 'number' ? data[0] : NaN;
      if (!(Number.isSafeInteger(n) && n >= 0)) problems.push(`${name}: expected a count, got ${String(data[0])}`);
      else out[name] = new Tensor(Float64Array.of(n), []);
      continue;
    }
    if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      problems.push(`${name}: expected floating point values, got ${v instanceof TorchTensor ? v.dtype : 'integers'}`);
      continue;
    }
    const bad = data.findIndex((y) => !Number.isFinite(y));
    if (bad >= 0) {
      problems.push(`${name}: non-finite value ${data[bad]} at element ${bad}`);
      continue;
    }
    out[name] = new Tensor((options.dtype ?? 'float32') === 'float64' ? Float64Array.from(data) : Float32Array.from(data), shape);
  }
  if (problems.length > 0) throw new DecoderError(`${where}: ${problems.join('; ')}`);
  return orderLike(decoder, out);
}

/**
 * The decoder's state_dict as torch saves it (an ordered dict of float32 tensors in torch's
 * order, num_batches_tracked int64), e.g. for `{ decoder: { flow: decoderStateDict(...) } }` in a
 * flyvis checkpoint written by writeTorchFile.
 */
export function decoderStateDict(decoder: DecoderGAVP, params: DecoderParams): TorchDict {
  const entries: [string, TorchTensor][] = [...decoder.stateShapes].map(([name, shape]) => {
    const t = need(params, name);
    if (t.shape.length !== shape.length || t.shape.some((d, q) => d !== shape[q])) {
      throw new DecoderError(`decoder parameters: '${name}' has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
    }
    if (name.endsWith('.num_batches_tracked')) return [name, new TorchTensor('int64', [], BigInt64Array.of(BigInt(Math.round(t.data[0]!))))];
    return [name, new TorchTensor('float32', [...shape], t.data instanceof Float32Array ? t.data.slice() : Float32Array.from(t.data))];
  });
  return new TorchDict(entries, true);
}

/** Throws unless the architecture's output channels match `expected` (e.g. 2 for flow). */
export function requireOutputChannels(decoder: DecoderGAVP, expected: number, where: string): void {
  if (decoder.outChannels !== expected || decoder.config.n_out_features !== null) {
    throw new DecoderError(`${where}: the decoder has ${decoder.outChannels} output channels${decoder.config.n_out_features === null ? '' : ' pooled to features'}, expected ${expected} per hexal`);
  }
}
