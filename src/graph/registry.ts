// The connectome registry (flyvis's `register_connectome` / `init_connectome`): connectome
// types by name, built from flyvis-style configs `{ type, ...options }`.
import { ConnectomeFromAvgFilters } from './compile.ts';
import { completeConnectome } from './complete.ts';
import type { Connectome, ConnectomeProtocol } from './types.ts';

/** A connectome config in flyvis's schema: `type` names a registered connectome, the rest are its options. */
export interface ConnectomeConfig {
  readonly type: string;
  readonly [option: string]: unknown;
}

/** Builds a connectome from a config's options; it need provide only the protocol's columns. */
export type ConnectomeFactory = (options: Readonly<Record<string, unknown>>) => ConnectomeProtocol;

const registry = new Map<string, ConnectomeFactory>();

/** Registers (or replaces) a connectome type under `name`. */
export function registerConnectome(name: string, factory: ConnectomeFactory): void {
  if (name.length === 0) throw new TypeError('registerConnectome: name: expected a non-empty string');
  registry.set(name, factory);
}

/** The names of the registered connectome types, in registration order. */
export const registeredConnectomes = (): string[] => [...registry.keys()];

/** The factory registered under `name`; throws listing the registered names if there is none. */
export function getConnectome(name: string): ConnectomeFactory {
  const factory = registry.get(name);
  if (factory === undefined) {
    const known = registeredConnectomes().join(', ');
    throw new RangeError(`connectome type '${name}' is not registered (registered: ${known})`);
  }
  return factory;
}

/**
 * flyvis's `init_connectome`: builds the connectome `config.type` names from the rest of the
 * config and completes it (`completeConnectome`), so a bare protocol implementation is accepted.
 */
export function initConnectome(config: ConnectomeConfig): Connectome {
  if (typeof config !== 'object' || config === null || typeof config.type !== 'string') {
    const known = registeredConnectomes().join(', ');
    throw new TypeError(`connectome config: type: expected the name of a registered connectome (${known})`);
  }
  const { type, ...options } = config;
  return completeConnectome(getConnectome(type)(options));
}

const FROM_AVG_FILTERS_OPTIONS = ['file', 'extent', 'n_syn_fill'];

/** Reads an optional config option, checking its type; `what` describes the expected value. */
function option<T>(
  options: Readonly<Record<string, unknown>>,
  key: string,
  ok: (x: unknown) => x is T,
  what: string,
): T | undefined {
  const x = options[key];
  if (x === undefined || ok(x)) return x;
  throw new TypeError(`ConnectomeFromAvgFilters config: ${key}: expected ${what}, got ${JSON.stringify(x)}`);
}

const isString = (x: unknown): x is string => typeof x === 'string' && x.length > 0;
const isNumber = (x: unknown): x is number => typeof x === 'number';

registerConnectome('ConnectomeFromAvgFilters', (options) => {
  const unknown = Object.keys(options).filter((k) => !FROM_AVG_FILTERS_OPTIONS.includes(k));
  if (unknown.length > 0) {
    const expected = FROM_AVG_FILTERS_OPTIONS.join(', ');
    throw new TypeError(`ConnectomeFromAvgFilters config: unknown option(s) ${unknown.join(', ')} (expected ${expected})`);
  }
  const fileWhat = 'the path of a connectome JSON file';
  const file = option(options, 'file', isString, fileWhat);
  if (file === undefined) throw new TypeError(`ConnectomeFromAvgFilters config: file: expected ${fileWhat}`);
  return ConnectomeFromAvgFilters(file, {
    extent: option(options, 'extent', isNumber, 'a non-negative integer'),
    nSynFill: option(options, 'n_syn_fill', isNumber, 'a finite number >= 0'),
  });
});
