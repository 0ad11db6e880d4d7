// flyvis's rules for its results directories, as pure functions (no file access): which
// checkpoint is the best, how checkpoints are numbered and ordered, how an ensemble's members are
// named and ranked, and how a flyvis 0.1 network config maps onto the same network here.
// References: flyvis 1.1.3 flyvis/utils/chkpt_utils.py (checkpoint_index_to_path_map,
// best_checkpoint_default_fn, check_loss_name), flyvis/network/ensemble.py
// (model_paths_from_parent, model_path_names, argsort), flyvision 0.1.0 flyvision/initialization.py
// (SynapseCountScaling with scale_chem / scale_elec).

/** An error about one file or directory of a results tree; the message is `<file>: <problem>`, one line. */
export class ResultsError extends Error {
  override name = 'ResultsError';
  constructor(
    /** The file or directory concerned (as resolved). */
    readonly file: string,
    /** What is wrong, in one line. */
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
  }
}

/**
 * The number of a checkpoint file name as flyvis reads it: the first run of 1 to 10 digits
 * (`re.findall(r"\d{1,10}", name)[0]`), e.g. chkpt_00012 -> 12; null when the name has none.
 */
export function checkpointNumber(name: string): number | null {
  const m = /\d{1,10}/.exec(name);
  return m === null ? null : Number.parseInt(m[0], 10);
}

/** Python's default string order (by code point), which `sorted()` of paths in one folder uses. */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * Checkpoint file names (those matching flyvis's glob `chkpt_*`) in flyvis's order: by number,
 * names of equal number in name order (flyvis sorts the names, then argsorts the numbers).
 * A name without a number is returned in `unnumbered` (flyvis cannot index such a folder).
 */
export function orderCheckpoints(names: readonly string[]): {
  checkpoints: { readonly name: string; readonly index: number }[];
  unnumbered: string[];
} {
  const matching = names.filter((n) => n.startsWith('chkpt_')).sort(compareCodePoints);
  const unnumbered = matching.filter((n) => checkpointNumber(n) === null);
  const checkpoints = matching
    .filter((n) => checkpointNumber(n) !== null)
    .map((name) => ({ name, index: checkpointNumber(name)! }))
    .sort((a, b) => a.index - b.index); // stable: equal numbers keep name order
  return { checkpoints, unnumbered };
}

/**
 * The position numpy's `argmin` returns: the first NaN if there is one (NaN propagates through
 * the minimum), else the first occurrence of the smallest value. -1 for an empty list.
 */
export function numpyArgmin(values: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isNaN(x)) return i;
    if (best < 0 || x < values[best]!) best = i;
  }
  return best;
}

/** numpy's `min` of a list: NaN if any value is NaN; NaN for an empty list here (numpy raises). */
export function numpyMin(values: ArrayLike<number>): number {
  const i = numpyArgmin(values);
  return i < 0 ? NaN : values[i]!;
}

/**
 * The validation files flyvis 1.x reads for the best checkpoint, in order of preference:
 * `epe` (flyvis's default loss_file_name), else `loss` (check_loss_name's fallback).
 */
export const VALIDATION_FILES_1X = ['validation/epe.h5', 'validation/loss.h5'] as const;

/**
 * Whether a folder name is one of an ensemble's member folders: flyvis keeps the subfolders whose
 * name `str.isnumeric()` (approximated by Unicode numeric characters).
 */
export const isMemberName = (name: string): boolean => /^\p{N}+$/u.test(name);

/** flyvis's name of a network or ensemble: the last `parts` path components, joined by '/'. */
export function resultsName(path: string, parts: number): string {
  return path.split(/[\\/]+/).filter((p) => p !== '').slice(-parts).join('/');
}

/**
 * Positions of `losses` from best to worst, as numpy's argsort orders them (NaN last), ties in
 * the given order; `null` (no validation file) after NaN.
 */
export function rankByLoss(losses: readonly (number | null)[]): number[] {
  const key = (x: number | null): number => (x === null ? 2 : Number.isNaN(x) ? 1 : 0);
  return losses
    .map((_, i) => i)
    .sort((a, b) => {
      const [x, y] = [losses[a]!, losses[b]!];
      const k = key(x) - key(y);
      if (k !== 0) return k;
      return key(x) === 0 ? (x as number) - (y as number) : 0;
    });
}

type Json = Record<string, unknown>;
const isRecord = (x: unknown): x is Json => x !== null && typeof x === 'object' && !Array.isArray(x);

/** A flyvis network config mapped onto this project's schema, and what the mapping changed. */
export interface MappedNetworkConfig {
  /** The network config to build (flyvis 1.x's schema). */
  readonly network: Json;
  /** What was changed from the file's config, in words (empty for a flyvis 1.x config). */
  readonly changes: readonly string[];
}

/**
 * Maps a network config of flyvis 0.1 (or 1.x, unchanged) onto flyvis 1.x's schema, which this
 * project builds, so that both build the same network:
 * - connectome type `ConnectomeDir` (0.1's name) is `ConnectomeFromAvgFilters` (1.x's name for
 *   the same construction, same options);
 * - `edge_type` in a parameter's `groupby`: the edge tables here have no edge_type column; when
 *   every edge type of the connectome has the same `edge_type` (fib25-fib19_v2.2.json: all
 *   'chem'), grouping by it changes no group and it is dropped; otherwise refused;
 * - SynapseCountScaling's `scale_chem` / `scale_elec` (0.1 scales chemical and electrical
 *   synapses separately, 0.01 each by default; other edge types unscaled): with one edge type in
 *   the connectome, the one `scale` (1.x) that type gets.
 * `edgeTypes()` lists the connectome's edge types' `edge_type` (undefined where absent); it is
 * called only when needed. `where` names the config for errors (e.g. the _meta.yaml file).
 * Only the initial values differ, by rounding (0.1 computes (1 / n_syn) * scale, 1.x
 * scale / n_syn); a checkpoint replaces them all.
 */
export function mapNetworkConfig(
  network: Json,
  edgeTypes: () => readonly (string | undefined)[],
  where: string,
): MappedNetworkConfig {
  const changes: string[] = [];
  const out: Json = structuredClone(network);
  const connectome = out.connectome;
  if (isRecord(connectome) && connectome.type === 'ConnectomeDir') {
    out.connectome = { ...connectome, type: 'ConnectomeFromAvgFilters' };
    changes.push("connectome.type 'ConnectomeDir' (flyvis 0.1) read as 'ConnectomeFromAvgFilters'");
  }
  let types: readonly (string | undefined)[] | undefined;
  const uniqueTypes = (): (string | undefined)[] => [...new Set((types ??= edgeTypes()))];
  const edgeConfig = out.edge_config;
  if (isRecord(edgeConfig)) {
    for (const [name, param] of Object.entries(edgeConfig)) {
      if (!isRecord(param)) continue;
      const path = `config.network.edge_config.${name}`;
      const groupby = param.groupby;
      const byEdgeType = Array.isArray(groupby) && groupby.includes('edge_type');
      const scales = param.type === 'SynapseCountScaling' && param.scale === undefined &&
        (param.scale_chem !== undefined || param.scale_elec !== undefined);
      if (!byEdgeType && !scales) continue;
      const unique = uniqueTypes();
      if (unique.length > 1) {
        const listed = unique.map((t) => (t === undefined ? '(none)' : `'${t}'`)).join(', ');
        const why = byEdgeType ? 'groups by edge_type' : 'scales chemical and electrical synapses separately';
        throw new ResultsError(where, `${path} ${why}, but the connectome has edge types ${listed}; flyvis-ts's edge tables have no edge_type column, so this network cannot be built here`);
      }
      if (byEdgeType) {
        param.groupby = (groupby as unknown[]).filter((c) => c !== 'edge_type');
        changes.push(`${path}.groupby: 'edge_type' dropped (every edge is ${unique[0] === undefined ? 'without edge_type' : `'${unique[0]}'`}: the same groups)`);
      }
      if (scales) {
        const only = unique[0];
        const pick = (v: unknown): number => {
          if (v === undefined) return 0.01;
          if (typeof v !== 'number' || !Number.isFinite(v)) throw new ResultsError(where, `${path}: expected scale_chem / scale_elec to be finite numbers, got ${JSON.stringify(v)}`);
          return v;
        };
        const scale = only === 'chem' ? pick(param.scale_chem) : only === 'elec' ? pick(param.scale_elec) : 1;
        const from = only === 'chem' ? 'scale_chem' : only === 'elec' ? 'scale_elec' : 'neither scale (no chem or elec edges)';
        delete param.scale_chem;
        delete param.scale_elec;
        param.scale = scale;
        changes.push(`${path}: scale = ${scale} (${from}; flyvis 0.1's per-edge-type scales)`);
      }
    }
  }
  return { network: out, changes };
}
