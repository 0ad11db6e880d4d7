// flyvis network configs from files: the YAML (or JSON) flyvis writes and users keep, in
// flyvis's own schema, either the network block itself or a whole training config whose
// `network:` key holds it.
import { parse as parseYaml } from 'yaml';
import { BoundedReadError, guardNesting, MAX_JSON_BYTES, readTextFileBounded } from '../io/bounded.ts'; // files through the platform
import type { NetworkConfig } from './network.ts';

/** Configs may nest at most this deep (flyvis's nest 4 or 5 levels); deeper is refused. */
export const MAX_CONFIG_DEPTH = 64;

/** The nesting depth of a parsed value (a scalar is 0), counted without recursion. */
function nestingDepth(root: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > MAX_CONFIG_DEPTH) return max;
    for (const v of Object.values(x)) stack.push([v, d + 1]);
  }
  return max;
}

export class NetworkConfigError extends Error {
  override name = 'NetworkConfigError';
}

const KEYS = ['connectome', 'dynamics', 'node_config', 'edge_config', 'stimulus_config'] as const;

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

/** A NetworkConfig from a parsed config object; errors name the file and field. */
export function networkConfigFrom(raw: unknown, where = 'config'): NetworkConfig {
  const block = isRecord(raw) && isRecord(raw.network) ? raw.network : raw;
  const path = isRecord(raw) && isRecord(raw.network) ? `${where}: network` : where;
  if (!isRecord(block)) throw new NetworkConfigError(`${path}: expected a mapping with ${KEYS.join(', ')}`);
  if (nestingDepth(raw) > MAX_CONFIG_DEPTH) throw new NetworkConfigError(`${where}: nested more than ${MAX_CONFIG_DEPTH} levels deep (flyvis's configs nest 4 or 5)`);
  const problems: string[] = [];
  for (const k of Object.keys(block)) {
    if (!(KEYS as readonly string[]).includes(k)) problems.push(`${path}.${k}: unknown key (expected ${KEYS.join(', ')})`);
  }
  for (const k of KEYS) {
    if (block[k] !== undefined && !isRecord(block[k])) problems.push(`${path}.${k}: expected a mapping, got ${JSON.stringify(block[k])}`);
  }
  if (problems.length > 0) throw new NetworkConfigError(problems.join('; '));
  return block as NetworkConfig;
}

/**
 * Reads a flyvis network config (.yaml, .yml or .json) of at most MAX_JSON_BYTES (256 MB); a
 * device (/dev/zero) or a deeper nesting than MAX_CONFIG_DEPTH is refused, naming the file.
 */
export function readNetworkConfig(file: string): NetworkConfig {
  let text: string;
  try {
    text = readTextFileBounded(file, MAX_JSON_BYTES, 'config input');
  } catch (e) {
    if (!(e instanceof BoundedReadError)) throw e;
    throw new NetworkConfigError(`${file}: ${e.problem === 'missing' ? 'cannot read (ENOENT)' : e.detail}`);
  }
  let raw: unknown;
  try {
    const tooDeep = (): Error => new NetworkConfigError(`${file}: nested too deeply to read (the parser exhausted the call stack)`);
    raw = guardNesting(() => (/\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text)) as unknown, tooDeep);
  } catch (e) {
    if (e instanceof NetworkConfigError) throw e;
    throw new NetworkConfigError(`${file}: not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`);
  }
  return networkConfigFrom(raw, file);
}
