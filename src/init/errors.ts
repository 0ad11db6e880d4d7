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

/** A checkpoint failed validation. `problems` lists every problem found, each naming its field. */
export class CheckpointError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], source?: string) {
    const where = source === undefined ? '' : ` ${source}`;
    const n = problems.length;
    super(`invalid checkpoint${where} (${n} problem${n === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`);
    this.name = 'CheckpointError';
    this.problems = problems;
  }
}
