// flyvis network configs from files: the YAML (or JSON) flyvis writes and users keep, in
// flyvis's own schema, either the network block itself or a whole training config whose
// `network:` key holds it.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { NetworkConfig } from './network.ts';

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

/** Reads a flyvis network config (.yaml, .yml or .json). */
export function readNetworkConfig(file: string): NetworkConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new NetworkConfigError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new NetworkConfigError(`${file}: not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`);
  }
  return networkConfigFrom(raw, file);
}
