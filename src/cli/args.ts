// What every `flyvis` command shares: a small declarative argument parser (flags with values,
// boolean flags, --help), `UsageError`, one-line error reporting with flyvis's exit codes
// (0 ok, 1 runtime failure, 2 bad arguments or bad input), time steps given as 0.005 or 1/200,
// Ctrl-C during a command (a line saying what was kept, exit 130), and atomic file writes.
import { exitOnInterrupt } from '../io/interrupt.ts';
export { writeFileAtomic } from '../io/atomic.ts';

/** Bad command-line arguments: reported on one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

interface OptionBase {
  /** One line of help. */
  readonly help: string;
  /** The value's name in the usage line, e.g. FILE or N. */
  readonly metavar?: string;
}

/** How one `--flag` is parsed. Flags with a `default` are always present in the result. */
export type OptionSpec =
  | (OptionBase & { readonly type: 'boolean' })
  | (OptionBase & { readonly type: 'string'; readonly default?: string })
  | (OptionBase & { readonly type: 'integer' | 'number'; readonly default?: number; readonly min?: number; readonly max?: number })
  /** A positive time step in seconds: a number (0.005) or a fraction (1/200). */
  | (OptionBase & { readonly type: 'dt'; readonly default?: number });

/** A command's flags by name (without the leading `--`). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'string' }
    ? string
    : number;

/** Parsed flag values: booleans default to false, flags without a default may be undefined. */
export type ParsedOptions<S extends OptionSpecs> = {
  -readonly [K in keyof S]: S[K] extends { type: 'boolean' } | { default: unknown }
    ? ValueOf<S[K]>
    : ValueOf<S[K]> | undefined;
};

export interface ParsedArgs<S extends OptionSpecs> {
  readonly options: ParsedOptions<S>;
  readonly positionals: readonly string[];
  /** True when --help or -h was given (the other arguments are then not checked). */
  readonly help: boolean;
}

/**
 * A time step in seconds as typed: a positive finite number (`0.005`, `5e-3`) or a fraction of
 * two (`1/200`). Throws UsageError naming `--<flag>` and echoing the text as typed.
 */
export function parseDt(text: string, flag = 'dt'): number {
  const m = /^\s*([^/\s]+)\s*(?:\/\s*([^/\s]+)\s*)?$/.exec(text);
  const num = m === null ? NaN : strictNumber(m[1]!);
  const den = m === null || m[2] === undefined ? 1 : strictNumber(m[2]);
  const value = num / den;
  if (!Number.isFinite(num) || !Number.isFinite(den) || !(value > 0) || !Number.isFinite(value)) {
    throw new UsageError(`--${flag}: expected a positive time step in seconds such as 0.005 or 1/200, got '${text}'`);
  }
  return value;
}

/** Number(text) without its leniencies ('' and '0x10' are not numbers here). */
const strictNumber = (text: string): number => (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim()) ? Number(text) : NaN);

function parseValue(name: string, spec: OptionSpec, text: string): string | number {
  if (spec.type === 'string') return text;
  if (spec.type === 'dt') return parseDt(text, name);
  const isInteger = spec.type === 'integer';
  const value = isInteger ? (/^[+-]?\d+$/.test(text) ? Number(text) : NaN) : strictNumber(text);
  const ok = isInteger ? Number.isSafeInteger(value) : Number.isFinite(value);
  const min = spec.type === 'boolean' ? undefined : spec.min;
  const max = spec.type === 'boolean' ? undefined : spec.max;
  if (!ok || (min !== undefined && value < min) || (max !== undefined && value > max)) {
    const kind = isInteger ? 'an integer' : 'a finite number';
    const range = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` >= ${min}` : max !== undefined ? ` <= ${max}` : '';
    throw new UsageError(`--${name}: expected ${kind}${range}, got '${text}'`);
  }
  return value;
}

/**
 * Parses `argv` against `specs`: `--name value`, `--name=value`, boolean `--name`, `--help` /
 * `-h`, and `--` before positionals. At most `maxPositionals` positionals (default 0).
 * Throws `UsageError` for an unknown flag, a missing or malformed value, a repeated flag or an
 * unexpected argument.
 */
export function parseArgs<S extends OptionSpecs>(
  argv: readonly string[],
  specs: S,
  { maxPositionals = 0 }: { maxPositionals?: number } = {},
): ParsedArgs<S> {
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const known = Object.keys(specs).map((k) => `--${k}`);
  const end = argv.indexOf('--');
  if ((end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h')) {
    return { options: defaults(specs) as ParsedOptions<S>, positionals, help: true };
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq === -1 ? undefined : eq) : arg;
    const spec = Object.prototype.hasOwnProperty.call(specs, name) ? specs[name] : undefined;
    if (spec === undefined) {
      const given = eq === -1 ? arg : arg.slice(0, eq);
      throw new UsageError(`unknown option '${given}' (expected ${known.join(', ') || 'no options'})`);
    }
    if (name in values) throw new UsageError(`--${name} given more than once`);
    if (spec.type === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      values[name] = true;
      continue;
    }
    let text: string | undefined = eq === -1 ? argv[i + 1] : arg.slice(eq + 1);
    if (eq === -1) {
      if (text === undefined || text.startsWith('--')) {
        throw new UsageError(`--${name}: expected a value${spec.metavar ? ` (${spec.metavar})` : ''}`);
      }
      i++;
    }
    values[name] = parseValue(name, spec, text!);
  }
  if (positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument '${positionals[maxPositionals]}'`);
  }
  return { options: { ...defaults(specs), ...values } as ParsedOptions<S>, positionals, help: false };
}

function defaults(specs: OptionSpecs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    out[name] = spec.type === 'boolean' ? false : spec.default;
  }
  return out;
}

/** The usage line and option list for `flyvis <command> --help`. */
export function formatHelp(command: string, summary: string, specs: OptionSpecs): string {
  const flag = (name: string, s: OptionSpec): string =>
    s.type === 'boolean' ? `--${name}` : `--${name} ${s.metavar ?? 'VALUE'}`;
  const entries = Object.entries(specs);
  const usage = `usage: flyvis ${command}${entries.map(([n, s]) => ` [${flag(n, s)}]`).join('')}`;
  const width = Math.max(0, ...entries.map(([n, s]) => flag(n, s).length));
  const lines = entries.map(([n, s]) => {
    const dflt = s.type !== 'boolean' && s.default !== undefined ? ` (default: ${s.default})` : '';
    return `  ${flag(n, s).padEnd(width)}  ${s.help}${dflt}`;
  });
  return [usage, '', summary, '', 'options:', ...lines, `  ${'--help'.padEnd(width)}  show this help`].join('\n') + '\n';
}

/** An error class whose instances mean bad input (a missing or malformed file): exit code 2. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs a command body and turns failures into flyvis's exit codes with a one-line
 * `flyvis <command>: <message>` on stderr: 2 for `UsageError` and the given bad-input error
 * classes, 1 for anything else.
 */
export async function runCommand(
  command: string,
  body: () => number | Promise<number>,
  badInput: readonly ErrorClass[] = [],
): Promise<number> {
  const release = exitOnInterrupt(`flyvis ${command}`, () => interruptNote);
  interruptNote = 'nothing was written';
  try {
    return await body();
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    const oneLine = error.message.replace(/\s*\n\s*/g, ' ');
    const bad = error instanceof UsageError || badInput.some((c) => error instanceof c);
    process.stderr.write(`flyvis ${command}: ${bad ? '' : 'error: '}${oneLine}\n`);
    return bad ? 2 : 1;
  } finally {
    release();
  }
}

let interruptNote = 'nothing was written';

/**
 * What Ctrl-C during the running command leaves on disk, for its message
 * (`flyvis <command>: interrupted; <note>`, exit 130). Default: 'nothing was written'.
 */
export function setInterruptNote(note: string): void {
  interruptNote = note;
}
