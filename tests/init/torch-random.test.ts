// PyTorch's CPU generator (src/init/torch-random.ts) against PyTorch itself (python3 with torch,
// run on the fly; skipped with a printed reason where absent), against the Python reference of
// ../shared/notes/torch/torch_normal.py (skipped where absent), and against fixed values that
// hold everywhere.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TorchGenerator, fma32, log256, sincos256, torchNormal, torchStandardNormal } from '../../src/init/torch-random.ts';
import { sharedPath } from '../helpers/shared.ts';

const f32 = Math.fround;
const bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0]!;

/** Indices where two float32 sequences differ bit for bit (at most 5), with the values. */
function differences(actual: ArrayLike<number>, expected: readonly number[]): string[] {
  const out: string[] = [];
  if (actual.length !== expected.length) return [`length ${actual.length} != ${expected.length}`];
  for (let i = 0; i < expected.length && out.length < 5; i++) {
    if (bits(actual[i]!) !== bits(expected[i]!)) out.push(`[${i}] ${actual[i]} != ${expected[i]}`);
  }
  return out;
}

/** A python3 that can import torch (FLYVIS_TORCH_PYTHON, python3 on PATH, /usr/bin/python3), or null. */
function findTorchPython(): string | null {
  const candidates = [process.env.FLYVIS_TORCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}

function findPython(): string | null {
  try {
    execFileSync('python3', ['-c', 'pass'], { stdio: 'ignore' });
    return 'python3';
  } catch {
    return null;
  }
}

const runPython = (python: string, script: string, input: unknown, env: NodeJS.ProcessEnv = process.env): unknown =>
  JSON.parse(execFileSync(python, ['-c', script], { input: JSON.stringify(input), env, maxBuffer: 1 << 28, encoding: 'utf8' }));

/** Per-element means and stds of `n` elements, varied so that every element's mul and add matter. */
function meanStd(n: number): { mean: number[]; std: number[] } {
  const mean = Array.from({ length: n }, (_, i) => f32(((i * 37) % 23) / 7 - 1.3));
  const std = Array.from({ length: n }, (_, i) => (i % 11 === 5 ? 0 : f32(0.05 + ((i * 13) % 17) * 0.173)));
  return { mean, std };
}

const SIZES = Array.from({ length: 257 }, (_, i) => i + 1);

describe('fixed values (no torch needed)', () => {
  it("gives flyvis's default biases: 65 groups, seed 0, mean 0.5, std 0.05", () => {
    const b = torchNormal(Array(65).fill(0.5), Array(65).fill(0.05), 0);
    expect(b).toBeInstanceOf(Float32Array);
    expect(b.length).toBe(65);
    expect(differences(b.subarray(0, 3), [0.44370800256729126, 0.44238197803497314, 0.4874710738658905])).toEqual([]);
    expect(differences(b.subarray(62), [0.4929664134979248, 0.5402876734733582, 0.5163807272911072])).toEqual([]);
  });

  it('is torch.randn after manual_seed(0): the double path below 16, the vectorised fill from 16, the redrawn last block at 17', () => {
    const z = (n: number, seed = 0) => Array.from(torchNormal(Array(n).fill(0), Array(n).fill(1), seed));
    // torch.manual_seed(0); torch.randn(5)
    expect(differences(z(5), [1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991, -1.0845223665237427])).toEqual([]);
    const z16 = z(16);
    expect(differences([...z16.slice(0, 3), z16[15]!], [-1.1258398294448853, -1.152360200881958, -0.2505785822868347, -0.2472781538963318])).toEqual([]);
    // 17 elements: block [0, 16) then the last 16 redrawn, so element 0 is kept and 1..16 are new.
    const z17 = z(17);
    expect(differences([z17[0]!, z17[1]!, z17[15]!, z17[16]!], [-1.1258398294448853, -1.6959311962127686, -0.843676745891571, 0.9318265914916992])).toEqual([]);
    // 700 elements: past the first 624 outputs, so the engine twists a second time.
    const z700 = z(700, 3);
    expect(differences([z700[0]!, z700[623]!, z700[699]!], [-0.07664429396390915, -0.33163711428642273, 1.395808458328247])).toEqual([]);
    expect(z(0)).toEqual([]);
  });

  it('fuses the multiply-adds of the polynomials: the elements of randn(1024) that are one ulp off without them', () => {
    const z = torchStandardNormal(new TorchGenerator(0), 1024);
    const at = [213, 221, 342, 406, 660, 730].map((i) => z[i]!);
    expect(differences(at, [0.9868360757827759, -0.03337478265166283, -0.9940357208251953, 1.6796927452087402, -0.5497671365737915, 0.5994642376899719])).toEqual(
      [],
    );
  });

  it('multiplies by std and adds mean in float32, element by element', () => {
    const z = torchNormal([1, 2, 3, 4], [0.5, 0.25, 2, 0], 7);
    expect(differences(z, [0.9266024827957153, 2.196535348892212, 4.893643379211426, 4.0])).toEqual([]);
    expect(() => torchNormal([1, 2], [1], 0)).toThrow('mean and std: expected the same length, got 2 and 1');
  });

  it('seeds as manual_seed does: the low 32 bits, negative seeds as two\'s complement', () => {
    const z = (seed: number) => Array.from(torchNormal([0, 0, 0], [1, 1, 1], seed));
    const minusOne = [1.2197630405426025, -0.3929794728755951, 1.0230751037597656];
    expect(differences(z(-1), minusOne)).toEqual([]);
    expect(z(2 ** 32 - 1)).toEqual(minusOne);
    expect(z(2 ** 32 + 5)).toEqual(z(5));
    expect(z(5)).not.toEqual(z(6));
    expect(() => new TorchGenerator(1.5)).toThrow('seed: expected an integer, got 1.5');
  });

  it('runs the standard MT19937 engine (seed 5489: first output 3499211612, 10000th 4123659995)', () => {
    const g = new TorchGenerator(5489);
    expect(g.random()).toBe(3499211612);
    let x = 0;
    for (let i = 1; i < 10_000; i++) x = g.random();
    expect(x).toBe(4123659995);
  });

  it('draws float uniforms from the low 24 bits and double uniforms from 53 bits of two outputs', () => {
    const a = new TorchGenerator(11);
    const b = new TorchGenerator(11);
    for (let i = 0; i < 50; i++) expect(a.uniformFloat()).toBe((b.random() & 0xffffff) / 2 ** 24);
    for (let i = 0; i < 50; i++) {
      const hi = b.random();
      expect(a.uniformDouble()).toBe(((hi & 0x1fffff) * 2 ** 32 + b.random()) / 2 ** 53);
    }
  });

  it('caches the second double Box-Muller sample', () => {
    const a = new TorchGenerator(2);
    const b = new TorchGenerator(2);
    const z0 = a.normalDouble();
    const z1 = a.normalDouble();
    const u1 = b.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - b.uniformDouble()));
    expect(z0).toBe(r * Math.cos(2 * Math.PI * u1));
    expect(z1).toBe(r * Math.sin(2 * Math.PI * u1));
    // The third sample draws two new uniforms.
    a.normalDouble();
    expect(a.uniformDouble()).not.toBe(b.uniformDouble());
  });

  it('rounds a fused multiply-add once, where rounding the double sum would round twice', () => {
    const e = (k: number) => 2 ** k;
    // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24, halfway between two float32s; +2^-60 must round up.
    expect(fma32(1 + e(-12), 1 + e(-12), e(-60))).toBe(1 + e(-11) + e(-23));
    expect(f32((1 + e(-12)) * (1 + e(-12)) + e(-60))).toBe(1 + e(-11)); // what double rounding gives
    expect(fma32(1 + e(-12), 1 + e(-12), -e(-60))).toBe(1 + e(-11));
    // 1 + 2^-10 + 2^-23 + 2^-24 is halfway with an odd lower neighbour; -2^-60 must round down.
    expect(fma32(1 + e(-12), 1 + 3 * e(-12), -e(-60))).toBe(1 + e(-10) + e(-23));
    expect(f32((1 + e(-12)) * (1 + 3 * e(-12)) - e(-60))).toBe(1 + e(-10) + e(-22));
    // Exact cases and signs.
    expect(fma32(3, 5, -15)).toBe(0);
    expect(fma32(-1.5, 2, 0.25)).toBe(-2.75);
    expect(fma32(f32(0.1), f32(0.1), 0)).toBe(f32(f32(0.1) * f32(0.1)));
  });

  it('computes the float32 polynomial log, sin and cos of avx_mathfun.h to within a few ulp', () => {
    for (const x of [2 ** -24, 1e-5, 0.1, 0.5, 0.70710677, 0.9, 0.999, 1 - 2 ** -24, 1].map(f32)) {
      expect(Math.abs(log256(x) - Math.log(x)), `log ${x}`).toBeLessThanOrEqual(2 * 2 ** -23 * Math.max(1, Math.abs(Math.log(x))));
    }
    expect(log256(1)).toBe(0);
    for (let k = 0; k <= 64; k++) {
      const t = f32((k / 64) * 2 * Math.PI);
      const [s, c] = sincos256(t);
      expect(Math.abs(s - Math.sin(t)), `sin ${t}`).toBeLessThan(3e-7);
      expect(Math.abs(c - Math.cos(t)), `cos ${t}`).toBeLessThan(3e-7);
      expect(sincos256(-t)[0]).toBe(-s);
      expect(sincos256(-t)[1]).toBe(c);
    }
  });
});

const NOTES = sharedPath('notes', 'torch', 'torch_normal.py');
const python = findPython();
const notesReason = !existsSync(NOTES) ? `${NOTES} is absent` : python === null ? 'python3 is absent' : null;
if (notesReason) console.warn(`[flyvis-ts tests] skipping the comparison with torch_normal.py: ${notesReason}`);

describe.skipIf(notesReason !== null)('against the Python reference of ../shared/notes/torch', () => {
  it('gives the same standard normals for sizes 1..257 and 1000, seeds 0 and 2^31 + 9', () => {
    const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(sharedPath('notes', 'torch'))})
from torch_normal import Generator, normal_
spec = json.load(sys.stdin)
json.dump([[normal_(n, Generator(s)) for n in spec["sizes"]] for s in spec["seeds"]], sys.stdout)`;
    const seeds = [0, 2 ** 31 + 9];
    const sizes = [...SIZES, 1000];
    const ref = runPython(python!, script, { seeds, sizes }) as number[][][];
    seeds.forEach((seed, si) =>
      sizes.forEach((n, ni) => expect(differences(torchStandardNormal(new TorchGenerator(seed), n), ref[si]![ni]!), `seed ${seed}, n ${n}`).toEqual([])),
    );
  });
});

const torchPython = findTorchPython();
if (torchPython === null) console.warn('[flyvis-ts tests] skipping the comparison with PyTorch: no python3 here imports torch (set FLYVIS_TORCH_PYTHON)');

describe.skipIf(torchPython === null)('against PyTorch (CPU, AVX2 kernels)', () => {
  const SEEDS = [0, 1, 42, 123_456_789, 2 ** 32 - 1, -7];
  const CASES = SIZES.map(meanStd);
  const FLYVIS = [[65, 0], [65, 3], [721, 0]] as const;
  // One python run computes everything: importing torch takes about a second.
  const script = `
import json, sys, torch
assert "CPU capability usage: AVX2" in torch.__config__.show(), torch.__config__.show()
spec = json.load(sys.stdin)
def gen(s):
    g = torch.Generator(); g.manual_seed(s); return g
f32 = lambda x: torch.tensor(x, dtype=torch.float32)
out = {"cases": [], "flyvis": []}
for s in spec["seeds"]:
    out["cases"].append([[torch.normal(f32(mean), f32(std), generator=gen(s)).tolist(),
                          torch.empty(len(mean), dtype=torch.float32).normal_(generator=gen(s)).tolist()]
                         for mean, std in spec["cases"]])
for n, s in spec["flyvis"]:   # flyvis: torch.normal(torch.tensor(np.repeat(mean, n)).float(), ...)
    out["flyvis"].append(torch.normal(torch.tensor([0.5] * n).float(), torch.tensor([0.05] * n).float(), generator=gen(s)).tolist())
g = gen(9)
out["rand"] = [torch.rand(300, generator=g).tolist(), torch.rand(300, generator=g, dtype=torch.float64).tolist()]
json.dump(out, sys.stdout)`;
  let ref: { cases: number[][][][]; flyvis: number[][]; rand: [number[], number[]] };

  beforeAll(() => {
    // ATEN_CPU_CAPABILITY=avx2 selects the AVX2 kernels (flyvis's reference machines) on CPUs with more.
    const env = { ...process.env, ATEN_CPU_CAPABILITY: 'avx2' };
    const spec = { seeds: SEEDS, cases: CASES.map((c) => [c.mean, c.std]), flyvis: FLYVIS };
    ref = runPython(torchPython!, script, spec, env) as typeof ref;
  });

  it('equals torch.normal(mean, std, generator) and normal_(generator) for sizes 1..257 and several seeds', () => {
    SEEDS.forEach((seed, si) =>
      CASES.forEach(({ mean, std }, ci) => {
        const [normal, standard] = ref.cases[si]![ci]!;
        expect(differences(torchNormal(mean, std, seed), normal!), `torch.normal, seed ${seed}, n ${mean.length}`).toEqual([]);
        expect(differences(torchStandardNormal(new TorchGenerator(seed), mean.length), standard!), `normal_, seed ${seed}, n ${mean.length}`).toEqual([]);
      }),
    );
  });

  it("equals flyvis's Normal for its default biases (mean 0.5, std 0.05) and more groups", () => {
    FLYVIS.forEach(([n, seed], k) => {
      expect(differences(torchNormal(Array(n).fill(0.5), Array(n).fill(0.05), seed), ref.flyvis[k]!), `n ${n}, seed ${seed}`).toEqual([]);
    });
  });

  it('draws the uniforms of torch.rand (float32 and float64)', () => {
    const [a, b] = ref.rand;
    const g = new TorchGenerator(9);
    expect(a.map(() => g.uniformFloat())).toEqual(a);
    expect(b.map(() => g.uniformDouble())).toEqual(b);
  });
});
