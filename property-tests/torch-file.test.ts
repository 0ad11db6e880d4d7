// The torch file reader on damaged files and the writer on random values.
// - Mutated checkpoints (truncations, flipped bytes, inserted bytes, and combinations) over a
//   small checkpoint our writer makes and a real one from ../shared (skipped with a printed
//   reason where absent): reading either throws TorchFileError or gives exactly the original
//   value (a byte no reader needs, such as zip padding or a timestamp, may change), never
//   another exception, a crash or a hang. Every record's CRC-32 is checked, so damaged data
//   cannot pass as values.
// - Mutated pickles, re-wrapped in a valid archive (so they get past the CRC): the pickle
//   machine gives a value or a TorchFileError, nothing else.
// - Random nested values of every kind and dtype: written, then read back equal.
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TorchDict,
  TorchFileError,
  TorchSet,
  TorchTensor,
  TorchTuple,
  readTorchFile,
  writeTorchFile,
  type TorchDtype,
  type TorchValue,
} from '../src/io/torch/index.ts';
import { bfloat16ToFloat, halfToFloat } from '../src/io/torch/values.ts';
import { readZip, writeZip } from '../src/io/torch/zip.ts';
import { sharedPath } from '../tests/helpers/shared.ts';

const REAL = sharedPath('golden', 'results-v1', 'flow', '0000', '000', 'chkpts', 'chkpt_00000');
const hasReal = existsSync(REAL);
if (!hasReal) console.warn(`[torch-file properties] skipping mutations of a real checkpoint: ${REAL} is absent`);

/** A small flyvis-like checkpoint: a state_dict with its _metadata, a decoder, numbers and strings. */
function smallCheckpoint(): Uint8Array {
  const f = (n: number, k: number) => new TorchTensor('float32', [n], Float32Array.from({ length: n }, (_, i) => Math.sin(i * k)));
  const network = new TorchDict([['nodes_bias', f(5, 1)], ['nodes_time_const', f(5, 2)], ['edges_syn_strength', f(7, 3)]], true);
  network.attributes = new TorchDict([['_metadata', new TorchDict([['', new TorchDict([['version', 1n]])]], true)]]);
  const flow = new TorchDict(
    [
      ['base.0.weight', new TorchTensor('float32', [2, 1, 2, 2], Float32Array.from({ length: 8 }, (_, i) => i / 8))],
      ['base.1.num_batches_tracked', new TorchTensor('int64', [], BigInt64Array.of(232080n))],
    ],
    true,
  );
  return writeTorchFile(
    new TorchDict([
      ['network', network],
      ['decoder', new TorchDict([['flow', flow]])],
      ['val_loss', 0.6],
      ['iteration', 1000n],
      ['time', 'Thu Jan  1 00:00:00 1970'],
      ['optim', new TorchDict([['param_groups', [new TorchDict([['lr', 1e-3], ['betas', new TorchTuple([0.9, 0.999])]])]]])],
    ]),
  );
}

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

/** A position as a fraction of the file's length, uniform (so one arbitrary serves any file). */
const fractionArb = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((k) => k / 1_000_000);

const mutationArb: fc.Arbitrary<(len: number) => Mutation> = fc.oneof(
  fractionArb.map((u) => (len: number) => ({ kind: 'truncate' as const, at: Math.floor(u * len) })),
  fc
    .tuple(fractionArb, fc.integer({ min: 1, max: 255 }))
    .map(([u, mask]) => (len: number) => ({ kind: 'flip' as const, at: Math.floor(u * len), mask })),
  fc
    .tuple(fractionArb, fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 70 }))
    .map(([u, atEnd, bytes]) => (len: number) => ({ kind: 'insert' as const, at: atEnd ? len : Math.floor(u * len), bytes })),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  if (m.kind === 'truncate') return bytes.slice(0, m.at);
  if (m.kind === 'flip') {
    const out = bytes.slice();
    out[m.at]! ^= m.mask;
    return out;
  }
  const out = new Uint8Array(bytes.length + m.bytes.length);
  out.set(bytes.subarray(0, m.at));
  out.set(m.bytes, m.at);
  out.set(bytes.subarray(m.at), m.at + m.bytes.length);
  return out;
}

/** Reading gives a TorchFileError naming the file, or (return value) the value read. */
function readOrError(bytes: Uint8Array): { value: TorchValue } | { error: TorchFileError } {
  try {
    return { value: readTorchFile(bytes, 'mutated.pt') };
  } catch (e) {
    if (!(e instanceof TorchFileError)) throw e;
    expect(e.message.startsWith('mutated.pt: ')).toBe(true);
    expect(e.message).not.toContain('\n');
    return { error: e };
  }
}

function checkMutations(original: Uint8Array, runs: number): void {
  const expected = readTorchFile(original);
  let errors = 0;
  fc.assert(
    fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (ms) => {
      let bytes: Uint8Array = original;
      for (const m of ms) bytes = mutate(bytes, m(bytes.length));
      const r = readOrError(bytes);
      if ('value' in r) expect(r.value).toEqual(expected);
      else errors++;
    }),
    { numRuns: runs, seed: 1306 },
  );
  expect(errors).toBeGreaterThan(runs / 4); // most damage is detected, not read past
}

describe('mutated checkpoint files', () => {
  it('a small checkpoint: TorchFileError or the original value', () => {
    checkMutations(smallCheckpoint(), 300);
  });

  it.skipIf(!hasReal)('a real checkpoint (torch 1.13, chkpt_00000): TorchFileError or the original value', () => {
    checkMutations(new Uint8Array(readFileSync(REAL)), 150);
  });

  it('random bytes are refused with a TorchFileError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect('error' in readOrError(bytes)).toBe(true);
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});

describe('mutated pickles in a valid archive', () => {
  const sources = [smallCheckpoint(), ...(hasReal ? [new Uint8Array(readFileSync(REAL))] : [])];
  it('the pickle machine gives a value or a TorchFileError, nothing else', () => {
    for (const [s, source] of sources.entries()) {
      const records = readZip(source, 'source').map((e) => ({ name: e.name, data: e.data.slice() }));
      const pkl = records.findIndex((r) => r.name.endsWith('/data.pkl'));
      let values = 0;
      fc.assert(
        fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (ms) => {
          let data: Uint8Array = records[pkl]!.data;
          for (const m of ms) data = mutate(data, m(data.length));
          const rec = records.map((r, i) => (i === pkl ? { name: r.name, data } : r));
          if ('value' in readOrError(writeZip(rec))) values++;
        }),
        { numRuns: 200, seed: 42 + s },
      );
      expect(values).toBeGreaterThan(0); // some damage still parses (a changed number or string)
    }
  });
});

// ------------------------------------------------------------------------- random values

const DTYPE_LIST: TorchDtype[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

const shapeArb = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 });

const tensorArb: fc.Arbitrary<TorchTensor> = fc
  .tuple(fc.constantFrom(...DTYPE_LIST), shapeArb, fc.boolean(), fc.boolean())
  .chain(([dtype, shape, isParameter, requiresGrad]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const make = (data: TorchTensor['data']) => new TorchTensor(dtype, shape, data, { isParameter, requiresGrad });
    const ints = (min: number, max: number) => fc.array(fc.integer({ min, max }), { minLength: n, maxLength: n });
    switch (dtype) {
      case 'float32':
        return fc.array(fc.float(), { minLength: n, maxLength: n }).map((xs) => make(Float32Array.from(xs)));
      case 'float64':
        return fc.array(fc.double(), { minLength: n, maxLength: n }).map((xs) => make(Float64Array.from(xs)));
      case 'float16': // every representable value, from random bit patterns
        return ints(0, 0xffff).map((xs) => make(Float32Array.from(xs, halfToFloat)));
      case 'bfloat16':
        return ints(0, 0xffff).map((xs) => make(Float32Array.from(xs, bfloat16ToFloat)));
      case 'int64':
        return fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: n, maxLength: n }).map((xs) => make(BigInt64Array.from(xs)));
      case 'int32':
        return ints(-(2 ** 31), 2 ** 31 - 1).map((xs) => make(Int32Array.from(xs)));
      case 'int16':
        return ints(-32768, 32767).map((xs) => make(Int16Array.from(xs)));
      case 'int8':
        return ints(-128, 127).map((xs) => make(Int8Array.from(xs)));
      case 'uint8':
        return ints(0, 255).map((xs) => make(Uint8Array.from(xs)));
      case 'bool':
        return ints(0, 1).map((xs) => make(Uint8Array.from(xs)));
    }
  });

const keyArb: fc.Arbitrary<TorchValue> = fc.oneof(fc.string(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.constant(null));

const { value: valueArb } = fc.letrec<{ value: TorchValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
    fc.string({ unit: 'grapheme' }),
    fc.uint8Array({ maxLength: 8 }),
    tensorArb,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(tie('value'), { maxLength: 5 }).map((xs) => new TorchTuple(xs)),
    fc
      .tuple(fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 4 }), fc.boolean())
      .map(([entries, ordered]) => new TorchDict(entries, ordered)),
    fc.tuple(fc.array(keyArb, { maxLength: 4 }), fc.boolean()).map(([items, frozen]) => new TorchSet(items, frozen)),
  ),
}));

describe('random values', () => {
  it('are written and read back equal', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        expect(readTorchFile(writeTorchFile(v), 'random')).toEqual(v);
      }),
      { numRuns: 300, seed: 2024 },
    );
  });
});
