// The snippet extraction that tests/readme-snippets.test.ts relies on: which blocks count, which
// lines become checks, and that a check fails when the code disagrees with the stated value.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { extractSnippets, markdownFiles, statedValues, toModule } from './snippets.ts';

const PROJECT_DIR = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

const MD = [
  '# Title',
  '```sh',
  'npm ci',
  '```',
  '```ts',
  'const a = [1, 2];',
  'a.length; // 2',
  '```',
  'text',
  '```typescript',
  'const b = await Promise.resolve(3);',
  '```',
  '```json',
  '{ "x": 1 }',
  '```',
].join('\n');

describe('snippet extraction', () => {
  it('takes the ts and typescript blocks with the line of their fence, and sees top-level await', () => {
    const s = extractSnippets(MD, 'X.md');
    expect(s.map((b) => b.origin)).toEqual(['X.md:5', 'X.md:10']);
    expect(s[0]!.code).toBe('const a = [1, 2];\na.length; // 2');
    expect(s.map((b) => b.topLevelAwait)).toEqual([false, true]);
    expect(extractSnippets('```ts\nasync function f() {\n  await g();\n}\n```', 'Y.md')[0]!.topLevelAwait).toBe(false);
  });

  it('rejects a block that is never closed, naming the file and line', () => {
    expect(() => extractSnippets('text\n```ts\nconst a = 1;\n', 'Z.md')).toThrow('Z.md:2: code block not closed');
  });

  it('turns only `expression; // JSON` lines into checks', () => {
    const code = [
      'x.length;              // 3',
      'name;                  // "LeakyPP"',
      'arr;                   // [1, 2.5]',
      'const y = f();         // 4',
      'f(x);                  // throws with a counterexample',
      'c.types;               // [\'L1\', ...]',
      '({ a } = b);           // 1',
      'ok < 2;                // true',
    ].join('\n');
    expect(statedValues(code).map((c) => [c.line, c.expression, c.expected])).toEqual([
      [0, 'x.length', '3'],
      [1, 'name', '"LeakyPP"'],
      [2, 'arr', '[1, 2.5]'],
      [7, 'ok < 2', 'true'],
    ]);
  });

  it('keeps line numbers, and a stated value the code does not give fails with where and what', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flyvis-snippet-'));
    try {
      const good = { origin: 'G.md:10', code: 'const t = Float32Array.of(1, 2);\nt;   // [1, 2]\nt.length * 2; // 4', topLevelAwait: false };
      const bad = { origin: 'B.md:20', code: 'const n = 1 + 1;\nn; // 3', topLevelAwait: false };
      const mod = toModule(good);
      expect(mod.split('\n').slice(0, 3)).toEqual([
        'const t = Float32Array.of(1, 2);',
        '__snippetCheck(t, "[1, 2]", "G.md:12");',
        '__snippetCheck(t.length * 2, "4", "G.md:13");',
      ]);
      writeFileSync(join(dir, 'good.ts'), mod);
      writeFileSync(join(dir, 'bad.ts'), toModule(bad));
      const g = globalThis as unknown as { __snippetChecks?: number };
      const before = g.__snippetChecks ?? 0;
      await import(pathToFileURL(join(dir, 'good.ts')).href);
      expect(g.__snippetChecks).toBe(before + 2);
      await expect(import(pathToFileURL(join(dir, 'bad.ts')).href)).rejects.toThrow('B.md:22: the snippet states 3, the code gives 2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds the project's README and docs, each with at least one block", () => {
    const files = markdownFiles(PROJECT_DIR).map((f) => f.slice(PROJECT_DIR.length + 1));
    expect(files[0]).toBe('README.md');
    expect(files).toContain('docs/graph.md');
    for (const f of ['README.md', 'docs/graph.md', 'docs/parameters.md', 'docs/training.md']) {
      expect(extractSnippets(readFileSync(join(PROJECT_DIR, f), 'utf8'), f).length, f).toBeGreaterThan(0);
    }
  });
});
