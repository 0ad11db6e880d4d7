// Activity files describe themselves: beside every activity .npy a command writes, a small JSON
// "sidecar" named `<file>.json` (activity.npy -> activity.npy.json) says which run produced it
// and how to read it: connectome, extent, n_syn_fill, parameters, dt, t_pre, the time of every
// frame and the order of the nodes (the connectome's node table, with its digest). `flyvis plot`
// and the library read it, so the time axis and the network come from the file itself and a
// contradicting flag is refused naming the run that wrote the file.
import { BoundedReadError, MAX_JSON_BYTES, readTextFileBounded } from './read-bounded.ts';
import { basename } from 'node:path';
import { nodesDigest } from '../graph/digest.ts';
import type { Connectome } from '../graph/types.ts';

export const SIDECAR_FORMAT = 'flyvis-ts.activity';
export const SIDECAR_VERSION = 1;

export interface ActivitySidecar {
  readonly format: typeof SIDECAR_FORMAT;
  readonly version: number;
  /** The command (or program) that wrote the activity, e.g. 'flyvis simulate'. */
  readonly producer: string;
  /** When it was written (ISO 8601). */
  readonly created: string;
  /** Absolute path of the connectome description, or 'demo' for the built-in demo connectome. */
  readonly connectome: string;
  /** Its name: the file name without .json, or 'demo'. */
  readonly connectome_name: string;
  readonly extent: number;
  readonly n_syn_fill: number;
  /** Absolute path of the parameter checkpoint, or 'default' (flyvis's initialization). */
  readonly params: string;
  /** Integration time step, seconds (one frame per step). */
  readonly dt: number;
  /** Seconds of grey before the first frame. */
  readonly t_pre: number;
  /** The array's shape, and what its axes are. */
  readonly shape: readonly number[];
  readonly axes: readonly string[];
  /** Frame f is the state at time first_s + f * step_s (seconds after the movie starts). */
  readonly frame_times: { readonly first_s: number; readonly step_s: number; readonly count: number };
  /** The last axis follows the connectome's node table; its digest identifies it. */
  readonly node_order: { readonly n_nodes: number; readonly nodes_sha256: string };
  /** Anything else the producer records (the movie, the stimulus, ...). */
  readonly [extra: string]: unknown;
}

export class SidecarError extends Error {
  override name = 'SidecarError';
}

/** The sidecar of an activity file: `<file>.json`. */
export const sidecarPath = (activityFile: string): string => `${activityFile}.json`;

export interface DescribeActivity {
  readonly producer: string;
  /** Absolute path of the connectome description; undefined for the demo connectome. */
  readonly connectomeFile: string | undefined;
  readonly connectome: Connectome;
  readonly extent: number;
  readonly nSynFill: number;
  /** Absolute path of the checkpoint; undefined for flyvis's initialization. */
  readonly params: string | undefined;
  readonly dt: number;
  readonly tPre: number;
  /** (batch, frames, n_nodes). */
  readonly shape: readonly number[];
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** The sidecar of activity (batch, frames, n_nodes) simulated as described. */
export function describeActivity(d: DescribeActivity): ActivitySidecar {
  const frames = d.shape.length >= 2 ? d.shape[d.shape.length - 2]! : 0;
  return {
    format: SIDECAR_FORMAT,
    version: SIDECAR_VERSION,
    producer: d.producer,
    created: new Date().toISOString(),
    connectome: d.connectomeFile ?? 'demo',
    connectome_name: d.connectomeFile === undefined ? 'demo' : basename(d.connectomeFile).replace(/\.json$/i, ''),
    extent: d.extent,
    n_syn_fill: d.nSynFill,
    params: d.params ?? 'default',
    dt: d.dt,
    t_pre: d.tPre,
    shape: [...d.shape],
    axes: d.shape.length === 3 ? ['batch', 'frames', 'nodes'] : ['frames', 'nodes'],
    frame_times: { first_s: d.dt, step_s: d.dt, count: frames },
    node_order: { n_nodes: d.connectome.nodes.length, nodes_sha256: nodesDigest(d.connectome) },
    ...d.extra,
  };
}

/** The sidecar as file contents. */
export const encodeSidecar = (s: ActivitySidecar): string => `${JSON.stringify(s, null, 2)}\n`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v)).slice(0, 60));

/**
 * Reads the sidecar of `activityFile` (`<file>.json`): undefined when there is none, a
 * SidecarError naming the sidecar and every bad field when it is malformed. With `shape`, also
 * checks that it describes an array of that shape.
 */
export function readSidecar(activityFile: string, shape?: readonly number[]): ActivitySidecar | undefined {
  const file = sidecarPath(activityFile);
  let text: string;
  try {
    text = readTextFileBounded(file, MAX_JSON_BYTES, 'JSON input');
  } catch (e) {
    if (e instanceof BoundedReadError && e.problem === 'missing') return undefined;
    if (e instanceof BoundedReadError) throw new SidecarError(e.message);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SidecarError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SidecarError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json) || json.format !== SIDECAR_FORMAT) {
    throw new SidecarError(`${file}: format: expected '${SIDECAR_FORMAT}', got ${show(isObject(json) ? json.format : json)}`);
  }
  const problems: string[] = [];
  const need = (key: string, ok: (v: unknown) => boolean, what: string): void => {
    if (!ok(json[key])) problems.push(`${key}: expected ${what}, got ${show(json[key])}`);
  };
  const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
  const nonNegative = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  const str = (v: unknown): boolean => typeof v === 'string' && v !== '';
  need('version', (v) => v === SIDECAR_VERSION, String(SIDECAR_VERSION));
  need('producer', str, 'a string');
  need('connectome', str, "a path or 'demo'");
  need('extent', (v) => Number.isSafeInteger(v) && (v as number) >= 0, 'an integer >= 0');
  need('n_syn_fill', nonNegative, 'a number >= 0');
  need('params', str, "a path or 'default'");
  need('dt', positive, 'a positive number');
  need('t_pre', nonNegative, 'a number >= 0');
  need('shape', (v) => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0), 'a list of sizes');
  const ft = json.frame_times;
  if (!isObject(ft) || !positive(ft.step_s) || typeof ft.first_s !== 'number' || !Number.isFinite(ft.first_s)) {
    problems.push(`frame_times: expected {first_s, step_s > 0, count}, got ${show(ft)}`);
  }
  const no = json.node_order;
  if (!isObject(no) || !Number.isSafeInteger(no.n_nodes) || typeof no.nodes_sha256 !== 'string') {
    problems.push(`node_order: expected {n_nodes, nodes_sha256}, got ${show(no)}`);
  }
  if (problems.length > 0) throw new SidecarError(`${file}: ${problems.join('; ')}`);
  const s = json as unknown as ActivitySidecar;
  if (shape !== undefined && (s.shape.length !== shape.length || s.shape.some((d, i) => d !== shape[i]))) {
    throw new SidecarError(
      `${file}: describes an array of shape (${s.shape.join(', ')}) but ${activityFile} has shape (${shape.join(', ')}); the sidecar belongs to another file (remove it or pass the right activity)`,
    );
  }
  return s;
}

/** "flyvis run on 2025-01-02T03:04:05Z (connectome fib25-fib19_v2.2, extent 15, dt 0.01 s)": who wrote the file. */
export function describeProducer(s: ActivitySidecar): string {
  return `${s.producer} on ${s.created} (connectome ${s.connectome_name}, extent ${s.extent}, n_syn_fill ${s.n_syn_fill}, dt ${s.dt} s)`;
}
