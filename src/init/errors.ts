// Errors of the parameter system. Every message names the field it is about, so a user can find
// the offending entry in their config or checkpoint without reading a stack trace.

/** Describes a value for an error message: short, JSON-like, never throws. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'function') return 'a function';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  try {
    const s = JSON.stringify(value);
    if (s === undefined) return String(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A node_config / edge_config entry is invalid. `path` is the field, e.g. `edge_config.syn_count.mode`. */
export class ParameterConfigError extends Error {
  readonly path: string;
  constructor(path: string, expected: string, got: unknown) {
    super(`${path}: expected ${expected}, got ${describeValue(got)}`);
    this.name = 'ParameterConfigError';
    this.path = path;
  }
}

/** A config is well-formed but does not fit the connectome or the parameter (unknown column, key, ...). */
export class ParameterError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'ParameterError';
    this.path = path;
  }
}

/**
 * Which extents of a connectome a checkpoint's parameter sizes fit (CheckpointError.sizeFit), worked
 * out when a checkpoint's sizes do not fit the network it is loaded into.
 */
export interface CheckpointSizeFit {
  /** The connectome's name (as the caller gave it, e.g. its file name). */
  readonly connectome: string;
  /** The extent of the network the checkpoint was loaded into. */
  readonly extent: number;
  /** The extents (of those searched, 0..15) at which every parameter in the checkpoint has its size; ascending, contiguous. */
  readonly extents: readonly number[];
  /** The extent to build the network at: 15 (flyvis's default) when it fits, else the largest fitting one; null when none fits. */
  readonly suggestedExtent: number | null;
  /** The extents searched, [lowest, highest]. */
  readonly searched: readonly [number, number];
}

/** Options of CheckpointError beyond its problems. */
export interface CheckpointErrorDetails {
  /** The length of each array entry of the checkpoint, by name. */
  readonly sizes?: Readonly<Record<string, number>>;
  /** Which extents of the connectome the checkpoint's sizes fit (see explainCheckpointSizes). */
  readonly sizeFit?: CheckpointSizeFit;
  /**
   * What to do, in the caller's words, for a suggested extent (e.g. a command line's
   * `(e) => \`pass --extent ${e}\``); default: `build the network at extent ${e}`.
   */
  readonly advice?: (extent: number) => string;
}

const extentsText = (extents: readonly number[]): string =>
  extents.length === 1 ? `extent ${extents[0]}` : `extents ${extents[0]} to ${extents.at(-1)}`;

/** The sentence that explains a size fit (no trailing punctuation). */
export function describeSizeFit(fit: CheckpointSizeFit, advice?: (extent: number) => string): string {
  if (fit.suggestedExtent === null || fit.extents.length === 0) {
    return `the checkpoint's sizes fit no extent ${fit.searched[0]} to ${fit.searched[1]} of ${fit.connectome}: ` +
      'it was made for another connectome (or another parameter configuration)';
  }
  const todo = (advice ?? ((e: number) => `build the network at extent ${e}`))(fit.suggestedExtent);
  return `the checkpoint's sizes fit ${extentsText(fit.extents)} of ${fit.connectome}, not extent ${fit.extent}: ${todo}`;
}

/**
 * A checkpoint failed validation. `problems` lists every problem found, each naming its field;
 * `sizeFit`, when present, says which extents of the connectome the checkpoint's sizes fit. The
 * message has one problem per line, numbered and ending in ';' when there are several, so that it
 * also reads well joined into one line (`invalid checkpoint p.json (2 problems): 1) ...; 2) ...`).
 */
export class CheckpointError extends Error {
  readonly problems: readonly string[];
  /** The checkpoint file, when loaded from one. */
  readonly source: string | undefined;
  /** The length of each array entry of the checkpoint, by name (when it was an object). */
  readonly sizes: Readonly<Record<string, number>> | undefined;
  readonly sizeFit: CheckpointSizeFit | undefined;
  /** The explanation of sizeFit as it appears in the message (undefined without sizeFit). */
  readonly hint: string | undefined;
  constructor(problems: readonly string[], source?: string, details: CheckpointErrorDetails = {}) {
    const where = source === undefined ? '' : ` ${source}`;
    const n = problems.length;
    const hint = details.sizeFit === undefined ? undefined : describeSizeFit(details.sizeFit, details.advice);
    const items = n === 1 ? [...problems] : problems.map((p, i) => `${i + 1}) ${p}`);
    const lines = items.map((p, i) => (i < items.length - 1 || hint !== undefined ? `${p};` : p));
    if (hint !== undefined) lines.push(hint);
    super(`invalid checkpoint${where} (${n} problem${n === 1 ? '' : 's'}):\n  ${lines.join('\n  ')}`);
    this.name = 'CheckpointError';
    this.problems = problems;
    this.source = source;
    this.sizes = details.sizes;
    this.sizeFit = details.sizeFit;
    this.hint = hint;
  }
}
