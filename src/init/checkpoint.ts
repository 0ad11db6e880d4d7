// Checkpoints: all parameters' raw values as JSON in flyvis's state_dict naming
// ({"nodes_bias": [...], "nodes_time_const": [...], "edges_sign": [...], "edges_syn_count": [...],
// "edges_syn_strength": [...]}). A flyvis network exports the same with
//   json.dump({k: v.tolist() for k, v in network.state_dict().items()}, open("params.json", "w"))
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.ts';
import { CheckpointError, describeValue } from './errors.ts';
import { type ParameterSet, makeParameterSet, withRaw } from './parameter.ts';

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
  writeFileAtomic(file, `${JSON.stringify(checkpointToJSON(set))}\n`);
}

/** Non-finite entries reported individually before summarising the rest. */
const MAX_ENTRY_PROBLEMS = 3;

function readJSONFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CheckpointError([`${file}: cannot read (${(e as Error).message})`]);
  }
  try {
    return JSON.parse(text) as unknown;
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

/**
 * A new set with the raw values of a checkpoint (a file path or an already parsed object).
 * Checks that every parameter of the set is present with the right number of finite (float32)
 * values and that the checkpoint names nothing else, reports every problem at once in one
 * CheckpointError (each naming its field, e.g. `edges_syn_strength: expected 604 values, got 601`),
 * and changes nothing when it throws.
 */
export function loadCheckpoint(set: ParameterSet, source: string | Readonly<Record<string, unknown>>): ParameterSet {
  const label = typeof source === 'string' ? source : undefined;
  const data = typeof source === 'string' ? readJSONFile(source) : source;
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
  if (problems.length > 0) throw new CheckpointError(problems, label);
  return makeParameterSet(set.parameters.map((p) => withRaw(p, loaded.get(p.stateDictName)!)));
}
