// Checkpoints: all parameters' raw values as JSON in flyvis's state_dict naming
// ({"nodes_bias": [...], "nodes_time_const": [...], "edges_sign": [...], "edges_syn_count": [...],
// "edges_syn_strength": [...]}), or torch.save files holding them (flyvis's checkpoints load as they
// are). A flyvis network exports the JSON with
//   json.dump({k: v.tolist() for k, v in network.state_dict().items()}, open("params.json", "w"))
// Platform-neutral: file paths are read and written through the platform (src/platform.ts);
// without a file system, pass parsed objects and store `checkpointToJSON`'s result yourself.
import { compileConnectome } from '../graph/compile.ts';
import type { ConnectomeSpec } from '../graph/spec.ts';
import { BoundedReadError, MAX_JSON_BYTES, readFileBounded, writeFileThroughPlatform } from '../io/bounded.ts';
import { readTorchFile } from '../io/torch/reader.ts';
import { stateDictFromTorch } from '../io/torch/state-dict.ts';
import { TorchFileError } from '../io/torch/values.ts';
import { emitWarning } from '../platform.ts';
import { CheckpointError, type CheckpointSizeFit, describeValue } from './errors.ts';
import { groupRows } from './grouping.ts';
import { formatKey } from './keys.ts';
import { type ParameterSet, makeParameterSet, semanticValues, withRaw } from './parameter.ts';

/** A checkpoint: state_dict name to raw values. */
export type Checkpoint = Record<string, number[]>;

/** The set's raw values as a checkpoint object (in state_dict order). Float32 values survive JSON exactly. */
export function checkpointToJSON(set: ParameterSet): Checkpoint {
  const out: Checkpoint = {};
  for (const p of set.parameters) out[p.stateDictName] = Array.from(p.raw);
  return out;
}

/** Writes the checkpoint atomically (temporary file, then rename): a failure leaves no partial file. */
export function saveCheckpoint(set: ParameterSet, file: string): void {
  writeFileThroughPlatform(file, `${JSON.stringify(checkpointToJSON(set))}\n`);
}

/** Non-finite entries reported individually before summarising the rest. */
const MAX_ENTRY_PROBLEMS = 3;

/** A torch checkpoint may be at most this many bytes (flyvis's, optimizer state included, are ~100 kB). */
const MAX_TORCH_CHECKPOINT_BYTES = 1e9;

/**
 * The parameters a checkpoint file holds: a state_dict JSON, or a torch.save file (a state_dict,
 * or flyvis's checkpoint dict whose `network` entry is the state_dict; read without Python by
 * src/io/torch). A flyvis network directory needs its validation files to pick the best
 * checkpoint: `loadParamsSource` / `loadNetworkDir` (src/results) read those.
 */
function readCheckpointFile(file: string): unknown {
  let bytes: Uint8Array;
  try {
    bytes = readFileBounded(file, Math.max(MAX_JSON_BYTES, MAX_TORCH_CHECKPOINT_BYTES), 'a checkpoint');
  } catch (e) {
    if (e instanceof BoundedReadError && /directory|EISDIR/.test(e.detail)) {
      throw new CheckpointError([`${file}: a directory; for a flyvis network directory use loadNetworkDir or loadParamsSource (src/results), or --params on the command line`]);
    }
    const bounded = e instanceof BoundedReadError && e.problem !== 'missing';
    throw new CheckpointError([bounded ? e.message : `${file}: cannot read (${(e as Error).message})`]);
  }
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    try {
      return stateDictFromTorch(readTorchFile(bytes, file), file);
    } catch (e) {
      if (e instanceof TorchFileError) throw new CheckpointError([e.message]);
      throw e;
    }
  }
  if (bytes.length > MAX_JSON_BYTES) throw new CheckpointError([`${file}: ${bytes.length} bytes, above the limit of ${MAX_JSON_BYTES} for JSON input`]);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch (e) {
    throw new CheckpointError([`${file}: not valid JSON (${(e as Error).message})`]);
  }
}

const asList = (v: unknown): ArrayLike<unknown> | null =>
  Array.isArray(v) ? v : ArrayBuffer.isView(v) && !(v instanceof DataView) ? (v as unknown as ArrayLike<unknown>) : null;

/** Problems of one entry, and its float32 values when it has none. */
function checkEntry(name: string, value: unknown, expected: number, problems: string[]): Float32Array | null {
  const list = asList(value);
  if (list === null) {
    problems.push(`${name}: expected an array of ${expected} numbers, got ${describeValue(value)}`);
    return null;
  }
  const start = problems.length;
  if (list.length !== expected) problems.push(`${name}: expected ${expected} values, got ${list.length}`);
  const values = new Float32Array(list.length);
  let bad = 0;
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    const f = typeof x === 'number' ? Math.fround(x) : NaN;
    if (!Number.isFinite(f)) {
      if (bad < MAX_ENTRY_PROBLEMS) {
        const why = typeof x === 'number' && Number.isFinite(x) ? ' (outside the float32 range)' : '';
        problems.push(`${name}[${i}]: expected a finite number, got ${describeValue(x)}${why}`);
      }
      bad++;
    }
    values[i] = f;
  }
  if (bad > MAX_ENTRY_PROBLEMS) problems.push(`${name}: ${bad - MAX_ENTRY_PROBLEMS} more non-finite values`);
  return problems.length === start ? values : null;
}

/** Where a parameter set's connectome came from: what is needed to rebuild it at other extents. */
export interface ConnectomeOrigin {
  /** The decoded connectome description the network was compiled from. */
  readonly spec: ConnectomeSpec;
  /** The extent the network was compiled at. */
  readonly extent: number;
  /** flyvis's n_syn_fill (default 1). */
  readonly nSynFill?: number;
  /** How to name the connectome in messages (e.g. its file name; default 'this connectome'). */
  readonly name?: string;
}

export interface LoadCheckpointOptions {
  /**
   * The connectome the set was built on. When the checkpoint's sizes do not fit, the error then
   * says which extents of this connectome they fit (CheckpointError.sizeFit), or that none does.
   */
  readonly connectome?: ConnectomeOrigin;
  /** What to do for a suggested extent, in the caller's words (default: `build the network at extent N`). */
  readonly advice?: (extent: number) => string;
  /**
   * Receives warnings about a checkpoint that loads but is suspect (time constants <= 0);
   * default: the platform's warning (Node: process.emitWarning(message, 'CheckpointWarning'); else console.warn).
   */
  readonly onWarning?: (message: string) => void;
}

/** The extents searched for a fit: 0 to this. */
const MAX_FIT_EXTENT = 15;

/**
 * Which extents (0..15) of the connectome `origin` describes the checkpoint's entry sizes fit, for
 * the parameters of `set` (same configs, rebuilt at each extent). Only entries the set knows are
 * compared. Parameter counts can only grow with the extent (a larger lattice has every node and edge
 * of a smaller one, so every group), so the fitting extents form one range, found by two binary
 * searches (a few compilations). Returns undefined when every compared size already fits or the
 * set's configs cannot be applied to the rebuilt connectome.
 */
export function checkpointSizeFit(
  set: ParameterSet,
  sizes: Readonly<Record<string, number>>,
  origin: ConnectomeOrigin,
): CheckpointSizeFit | undefined {
  const compared = set.parameters.filter((p) => Object.hasOwn(sizes, p.stateDictName));
  const want = compared.map((p) => sizes[p.stateDictName]!);
  if (compared.every((p, i) => p.raw.length === want[i])) return undefined;
  const cache = new Map<number, readonly number[]>();
  if (origin.extent <= MAX_FIT_EXTENT) cache.set(origin.extent, compared.map((p) => p.raw.length));
  const counts = (e: number): readonly number[] => {
    let c = cache.get(e);
    if (c === undefined) {
      const connectome = compileConnectome(origin.spec, e, origin.nSynFill ?? 1);
      cache.set(e, (c = compared.map((p) => groupRows(connectome[p.route], p.groupby).nGroups)));
    }
    return c;
  };
  /** The first extent in 0..MAX at which `pred` holds, for a predicate false then true (MAX + 1: never). */
  const first = (pred: (e: number) => boolean): number => {
    let [lo, hi] = [0, MAX_FIT_EXTENT + 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pred(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  let from: number;
  let to: number;
  try {
    from = first((e) => counts(e).every((c, i) => c >= want[i]!)); // no count below the checkpoint's
    to = first((e) => counts(e).some((c, i) => c > want[i]!)) - 1; // the last with no count above it
  } catch {
    return undefined;
  }
  const extents = Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
  return {
    connectome: origin.name ?? 'this connectome',
    extent: origin.extent,
    extents,
    suggestedExtent: extents.length === 0 ? null : extents.includes(15) ? 15 : extents.at(-1)!,
    searched: [0, MAX_FIT_EXTENT],
  };
}

/**
 * The same error, explained: when some checkpoint entry's size does not fit `set`, a new
 * CheckpointError with `sizeFit` (which extents of the origin's connectome the checkpoint fits) and
 * that explanation as the last line of its message. Other errors are returned unchanged.
 */
export function explainCheckpointSizes(
  error: CheckpointError,
  set: ParameterSet,
  origin: ConnectomeOrigin,
  advice?: (extent: number) => string,
): CheckpointError {
  if (error.sizes === undefined || error.sizeFit !== undefined) return error;
  const sizeFit = checkpointSizeFit(set, error.sizes, origin);
  if (sizeFit === undefined) return error;
  return new CheckpointError(error.problems, error.source, { sizes: error.sizes, sizeFit, ...(advice ? { advice } : {}) });
}

/** Warnings listed individually before summarising the rest. */
const MAX_WARNED_ENTRIES = 3;

/**
 * A warning for time constants <= 0 (TimeConstant parameters), or null. flyvis accepts them: its
 * dynamics divide by max(time_const, dt), so such a cell is integrated as if its time constant were
 * dt, and the gradient with respect to it is 0 (training leaves it where it is).
 */
function timeConstantWarning(set: ParameterSet): string | null {
  const found: string[] = [];
  let n = 0;
  for (const p of set.parameters) {
    if (p.type !== 'TimeConstant') continue;
    const values = semanticValues(p);
    values.forEach((x, i) => {
      if (!(x <= 0)) return;
      if (found.length < MAX_WARNED_ENTRIES) found.push(`${p.stateDictName}[${i}] = ${x} (${formatKey(p.keys[i])})`);
      n++;
    });
  }
  if (n === 0) return null;
  const more = n > found.length ? `, and ${n - found.length} more` : '';
  return `${n} time constant${n === 1 ? '' : 's'} <= 0: ${found.join(', ')}${more}; ` +
    'as in flyvis, a time constant below dt is integrated as dt (1 / max(time_const, dt)) and gets no gradient';
}

/**
 * A new set with the raw values of a checkpoint (a file path or an already parsed object).
 * Checks that every parameter of the set is present with the right number of finite (float32)
 * values and that the checkpoint names nothing else, reports every problem at once in one
 * CheckpointError (each naming its field, e.g. `edges_syn_strength: expected 604 values, got 601`;
 * with `options.connectome`, also which extents of that connectome the checkpoint's sizes fit),
 * and changes nothing when it throws. Time constants <= 0 load (flyvis integrates them as dt) with
 * a warning naming them.
 */
export function loadCheckpoint(
  set: ParameterSet,
  source: string | Readonly<Record<string, unknown>>,
  options: LoadCheckpointOptions = {},
): ParameterSet {
  const label = typeof source === 'string' ? source : undefined;
  const data = typeof source === 'string' ? readCheckpointFile(source) : source;
  if (typeof data !== 'object' || data === null || Array.isArray(data) || ArrayBuffer.isView(data)) {
    throw new CheckpointError([`checkpoint: expected an object of parameter arrays, got ${describeValue(data)}`], label);
  }
  const entries = data as Readonly<Record<string, unknown>>;
  const problems: string[] = [];
  const loaded = new Map<string, Float32Array>();
  for (const p of set.parameters) {
    if (!Object.hasOwn(entries, p.stateDictName)) {
      problems.push(`${p.stateDictName}: missing (expected ${p.raw.length} values)`);
      continue;
    }
    const values = checkEntry(p.stateDictName, entries[p.stateDictName], p.raw.length, problems);
    if (values !== null) loaded.set(p.stateDictName, values);
  }
  const known = [...set.byName.keys()];
  for (const name of Object.keys(entries)) {
    if (!set.byName.has(name)) problems.push(`${name}: unknown parameter (expected ${known.join(', ')})`);
  }
  if (problems.length > 0) {
    const sizes: Record<string, number> = {};
    for (const [name, value] of Object.entries(entries)) {
      const list = asList(value);
      if (list !== null) sizes[name] = list.length;
    }
    const error = new CheckpointError(problems, label, { sizes });
    throw options.connectome ? explainCheckpointSizes(error, set, options.connectome, options.advice) : error;
  }
  const result = makeParameterSet(set.parameters.map((p) => withRaw(p, loaded.get(p.stateDictName)!)));
  const warning = timeConstantWarning(result);
  if (warning !== null) {
    const where = label === undefined ? 'checkpoint' : `checkpoint ${label}`;
    (options.onWarning ?? ((m: string) => emitWarning(m, 'CheckpointWarning')))(`${where}: ${warning}`);
  }
  return result;
}
