// Initial distributions (flyvis's `initial_dist`): how a parameter's raw values are first set.
// `Value` (a fixed value), `Normal` (mode 'mean' or seeded 'sample') and `Lognormal` (raw values
// are the normal's; the value used in computation is exp(raw)). Users add their own with
// `registerInitialDistribution`. Mode 'sample' draws exactly what flyvis draws on a CPU:
// torch.normal with a torch.Generator seeded by `seed` (./torch-random.ts).
import { readPerGroup } from './config.ts';
import { ParameterConfigError, ParameterError } from './errors.ts';
import { torchNormal } from './torch-random.ts';

/** How raw values map to the values used in computation: as they are, or exp(raw). */
export type Transform = 'identity' | 'exp';

/** What a distribution is given: its config and the number of groups to produce values for. */
export interface DistributionContext {
  /** The parameter's config, with the parameter type's per-group fields (e.g. `value`, `mean`) written over it. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly nGroups: number;
  /** Field path of the parameter config, e.g. `node_config.bias`, for error messages. */
  readonly path: string;
}

/** A distribution's result: one float32 raw value per group and the semantic transform. */
export interface InitialValues {
  readonly raw: Float32Array;
  readonly transform: Transform;
}

export type InitialDistributionFactory = (ctx: DistributionContext) => InitialValues;

const registry = new Map<string, InitialDistributionFactory>();

/** Registers an initial distribution under `name` (the `initial_dist` config value). Names are unique. */
export function registerInitialDistribution(name: string, factory: InitialDistributionFactory): void {
  if (typeof name !== 'string' || name.length === 0) throw new ParameterConfigError('initial_dist', 'a non-empty name', name);
  if (typeof factory !== 'function') throw new ParameterConfigError(`initial_dist ${name}`, 'a factory function', factory);
  if (registry.has(name)) throw new ParameterError('initial_dist', `'${name}' is already registered`);
  registry.set(name, factory);
}

/** Names of the registered initial distributions. */
export const registeredInitialDistributions = (): string[] => [...registry.keys()];

/** The factory registered as `name`; unknown names are an error naming `path`. */
export function getInitialDistribution(name: string, path: string): InitialDistributionFactory {
  const f = registry.get(name);
  if (f === undefined) throw new ParameterConfigError(path, `one of ${registeredInitialDistributions().join(', ')}`, name);
  return f;
}

const toFloat32 = (values: Float64Array): Float32Array => Float32Array.from(values);

/**
 * A seed for mode 'sample': the config's integer `seed` (as `torch.Generator.manual_seed` takes
 * it, negative ones included), or a random one when absent or null (flyvis calls
 * `generator.seed()`, drawing a fresh seed).
 */
function readSeed(config: Readonly<Record<string, unknown>>, path: string): number {
  const seed = config.seed;
  if (seed === undefined || seed === null) return randomSeed();
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new ParameterConfigError(`${path}.seed`, 'an integer or null', seed);
  }
  return seed;
}

/** A random seed in [0, 2^48 - 1) from the Web Crypto API (global in Node and browsers), as node:crypto's randomInt(0, 2 ** 48 - 1) gave. */
function randomSeed(): number {
  const words = new Uint32Array(2);
  for (;;) {
    globalThis.crypto.getRandomValues(words);
    const seed = (words[0]! & 0xffff) * 2 ** 32 + words[1]!;
    if (seed < 2 ** 48 - 1) return seed;
  }
}

/**
 * Normal raw values: mode 'mean' gives `mean`; mode 'sample' (default) gives flyvis's
 * `torch.normal(tensor(mean).float(), tensor(std).float(), generator=g)` with
 * `g = torch.Generator(); g.manual_seed(seed)`, bit for bit (torch's CPU generator).
 */
function normalRaw({ config, nGroups, path }: DistributionContext): Float32Array {
  const mode = config.mode ?? 'sample';
  const mean = () => readPerGroup(config, 'mean', nGroups, path);
  if (mode === 'mean') return toFloat32(mean());
  if (mode !== 'sample') throw new ParameterConfigError(`${path}.mode`, "'mean' or 'sample'", mode);
  const mu = mean();
  const std = readPerGroup(config, 'std', nGroups, path);
  std.forEach((s, i) => {
    if (s < 0) throw new ParameterConfigError(`${path}.std${typeof config.std === 'number' ? '' : `[${i}]`}`, 'a non-negative number', s);
  });
  return torchNormal(mu, std, readSeed(config, path));
}

/** `Value`: the config's `value`, one number for all groups or one per group. */
export const valueDistribution: InitialDistributionFactory = ({ config, nGroups, path }) => ({
  raw: toFloat32(readPerGroup(config, 'value', nGroups, path)),
  transform: 'identity',
});

/** `Normal`: modes 'mean' and 'sample' (seeded by `seed`; random when absent or null). */
export const normalDistribution: InitialDistributionFactory = (ctx) => ({ raw: normalRaw(ctx), transform: 'identity' });

/** `Lognormal`: raw values as `Normal`'s (the log of the value); the semantic value is exp(raw). */
export const lognormalDistribution: InitialDistributionFactory = (ctx) => ({ raw: normalRaw(ctx), transform: 'exp' });

registerInitialDistribution('Value', valueDistribution);
registerInitialDistribution('Normal', normalDistribution);
registerInitialDistribution('Lognormal', lognormalDistribution);
