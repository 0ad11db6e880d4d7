// Draws from the project's seeded generator (src/init/random.ts, xoshiro128**): uniform floats,
// integers, Gaussians, and per-item streams derived from (seed, split, index). Every random
// choice of the flow datasets and augmentations goes through an explicit generator, so items
// are reproducible from a seed on every platform.
import { Xoshiro128 } from '../../init/random.ts';

export { Xoshiro128 };

/** Uniform double in [0, 1) with 53 random bits. */
export function uniform(rng: Xoshiro128): number {
  const a = rng.nextUint32() >>> 5;
  const b = rng.nextUint32() >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

/** Uniform double in [lo, hi). */
export const uniformIn = (rng: Xoshiro128, lo: number, hi: number): number => lo + (hi - lo) * uniform(rng);

/** Log-uniform double in [lo, hi) (lo, hi > 0). */
export const logUniform = (rng: Xoshiro128, lo: number, hi: number): number => lo * Math.exp(Math.log(hi / lo) * uniform(rng));

/** Uniform integer in [lo, hi) (numpy's randint(low, high) range), without modulo bias. */
export function randint(rng: Xoshiro128, lo: number, hi: number): number {
  const n = hi - lo;
  if (!(n >= 1) || !Number.isSafeInteger(n)) throw new RangeError(`randint: empty range [${lo}, ${hi})`);
  if (n > 2 ** 32) return lo + Math.floor(uniform(rng) * n);
  const limit = 2 ** 32 - (2 ** 32 % n);
  for (;;) {
    const x = rng.nextUint32();
    if (x < limit) return lo + (x % n);
  }
}

/** Standard Gaussian (Box-Muller on two 53-bit uniforms). */
export function gaussian(rng: Xoshiro128): number {
  const u1 = 1 - uniform(rng); // (0, 1]
  const u2 = uniform(rng);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Gaussian with the given mean and standard deviation. */
export const normal = (rng: Xoshiro128, mean: number, std: number): number => mean + std * gaussian(rng);

/** A 32-bit mix of x (murmur3's finaliser). */
function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * A generator for one item: its seed (a 53-bit integer) hashes the dataset seed, a stream tag
 * (e.g. 'train', 'validation', 'augment') and the item index, so distinct (seed, tag, index)
 * triples get independent streams.
 */
export function itemRng(seed: number, tag: string, index: number): Xoshiro128 {
  let h1 = 0x9e3779b9;
  let h2 = 0x7f4a7c15;
  const words = [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, index >>> 0, Math.floor(index / 2 ** 32) >>> 0];
  for (let i = 0; i < tag.length; i++) words.push(tag.charCodeAt(i));
  words.push(tag.length);
  for (const w of words) {
    h1 = fmix32((h1 ^ w) + 0x6b43a9b5);
    h2 = fmix32((h2 + Math.imul(w, 0x27d4eb2f)) ^ h1);
  }
  return new Xoshiro128((h1 & 0x1fffff) * 2 ** 32 + h2);
}
