// Batches of flow items, and the platform-neutral core: the dataset modules reachable from
// src/datasets/index.ts import no Node module and use neither process nor Buffer (file reading
// is in src/datasets/flow/sintel-node.ts).
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { flowBatch, FlowDatasetError, ProceduralFlow, stackFlowItems } from '../../src/datasets/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('flowBatch', () => {
  it('stacks items into a (samples, frames, 1, hexals) movie and (samples, frames, 2, hexals) targets', () => {
    const ds = new ProceduralFlow({ split: 'validation', nSequences: 3, extent: 2, scene: { textureSize: 32 } });
    const b = flowBatch(ds, [2, 0]);
    expect(b.lum.shape).toEqual([2, 40, 1, 19]);
    expect(b.flow.shape).toEqual([2, 40, 2, 19]);
    expect(Array.from(b.lum.data.subarray(0, 40 * 19))).toEqual(Array.from(ds.item(2).lum));
    expect(Array.from(b.flow.data.subarray(40 * 2 * 19))).toEqual(Array.from(ds.item(0).flow));
    expect(() => flowBatch(ds, [3])).toThrow(/item index: expected an integer in \[0, 2\]/);
    const other = new ProceduralFlow({ split: 'validation', nSequences: 1, extent: 2, frames: 5, scene: { textureSize: 32 } });
    expect(() => stackFlowItems([ds.item(0), other.item(0)])).toThrow(FlowDatasetError);
    expect(() => stackFlowItems([])).toThrow(/batch: expected at least one item/);
  });
});

describe('platform-neutral core', () => {
  it('src/datasets/index.ts reaches no node: module, process or Buffer', () => {
    const seen = new Set<string>();
    const problems: string[] = [];
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/^(?:import|export)[^;]*?from\s+'([^']+)'/gms)) {
        const spec = m[1]!;
        if (!spec.startsWith('.')) problems.push(`${relative(ROOT, file)} imports ${spec}`);
        else walk(resolve(dirname(file), spec));
      }
      if (/\bprocess\.|\bBuffer\./.test(src)) problems.push(`${relative(ROOT, file)} uses process or Buffer`);
    };
    walk(resolve(ROOT, 'src/datasets/index.ts'));
    expect(seen.has(resolve(ROOT, 'src/datasets/flow/scene.ts'))).toBe(true);
    expect(seen.has(resolve(ROOT, 'src/datasets/flow/sintel.ts'))).toBe(true);
    expect(seen.has(resolve(ROOT, 'src/datasets/flow/sintel-node.ts'))).toBe(false);
    expect(problems).toEqual([]);
  });
});
