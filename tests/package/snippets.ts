// The TypeScript blocks of the README and docs/*.md, turned into modules that a test runs as
// written. A line `expression; // VALUE`, where VALUE is JSON, becomes a check that the
// expression's value is VALUE (typed arrays compare as arrays), on the same line, so errors
// point at the markdown's own line numbers (line in module = line in block).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

export interface Snippet {
  /** 'README.md:40': the markdown file (relative to the project) and the line of the opening fence. */
  readonly origin: string;
  /** The block's code, without the fences. */
  readonly code: string;
  /** Whether the block has a top-level `await` (it then needs an ES module). */
  readonly topLevelAwait: boolean;
}

/** Every ```ts / ```typescript block of a markdown text, in order. */
export function extractSnippets(markdown: string, file: string): Snippet[] {
  const lines = markdown.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trim() !== fence; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: code block not closed`);
    const code = body.join('\n');
    out.push({ origin: `${file}:${start + 1}`, code, topLevelAwait: hasTopLevelAwait(code) });
  }
  return out;
}

/** `await` outside any function body: at brace depth 0 (blocks at top level rarely open braces). */
function hasTopLevelAwait(code: string): boolean {
  let depth = 0;
  for (const line of code.split('\n')) {
    const text = line.replace(/\/\/.*$/, '');
    if (depth === 0 && /(^|[^\w.])await\s/.test(text)) return true;
    for (const ch of text) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
  }
  return false;
}

const STATEMENT_KEYWORDS = /^(const|let|var|import|export|return|if|for|while|do|function|class|type|interface|throw|try|switch|declare|enum)\b/;

/** The checks a block states: `expression; // JSON`, by line index in the block. */
export function statedValues(code: string): { line: number; expression: string; expected: string }[] {
  const found: { line: number; expression: string; expected: string }[] = [];
  code.split('\n').forEach((line, i) => {
    const m = /^(\s*)(\S.*?);\s*\/\/\s*(.+?)\s*$/.exec(line);
    if (!m || STATEMENT_KEYWORDS.test(m[2]!) || m[2]!.startsWith('}') || m[2]!.startsWith('(')) return;
    try {
      JSON.parse(m[3]!);
    } catch {
      return;
    }
    found.push({ line: i, expression: m[2]!, expected: m[3]! });
  });
  return found;
}

const CHECK_FUNCTION = `
function __snippetCheck(actual: unknown, expected: string, where: string): void {
  const plain = ArrayBuffer.isView(actual) && !(actual instanceof DataView) ? Array.from(actual as unknown as ArrayLike<number>) : actual;
  const got = JSON.stringify(plain);
  const want = JSON.stringify(JSON.parse(expected));
  if (got !== want) throw new Error(\`\${where}: the snippet states \${want}, the code gives \${got}\`);
  const g = globalThis as unknown as { __snippetChecks?: number };
  g.__snippetChecks = (g.__snippetChecks ?? 0) + 1;
}
export {};
`;

/** A snippet as a module: stated values become checks, line numbers are kept. */
export function toModule(s: Snippet): string {
  const [file, fenceLine] = s.origin.split(':') as [string, string];
  const lines = s.code.split('\n');
  for (const c of statedValues(s.code)) {
    const indent = /^\s*/.exec(lines[c.line]!)![0];
    const where = `${file}:${Number(fenceLine) + 1 + c.line}`;
    lines[c.line] = `${indent}__snippetCheck(${c.expression}, ${JSON.stringify(c.expected)}, ${JSON.stringify(where)});`;
  }
  return `${lines.join('\n')}\n${CHECK_FUNCTION}`;
}

/** The markdown files whose blocks must run: README.md and docs/*.md. */
export function markdownFiles(projectDir: string): string[] {
  const docs = join(projectDir, 'docs');
  return [join(projectDir, 'README.md'), ...readdirSync(docs).filter((f) => f.endsWith('.md')).sort().map((f) => join(docs, f))];
}

export interface WrittenSnippets {
  readonly snippets: Snippet[];
  /** Module file names, in the snippets' order. */
  readonly modules: string[];
  /** How many stated values the modules check. */
  readonly checks: number;
}

/**
 * Writes one module per snippet into `dir` and a runner `run-snippets.mjs` that imports them in
 * order, printing `snippet ok ORIGIN` and `snippet ms MS ORIGIN` after each and `snippet checks N`
 * at the end.
 */
export function writeSnippetModules(projectDir: string, dir: string): WrittenSnippets {
  const snippets = markdownFiles(projectDir).flatMap((f) => extractSnippets(readFileSync(f, 'utf8'), relative(projectDir, f)));
  const modules = snippets.map((s, i) => {
    const name = `${String(i).padStart(2, '0')}-${basename(s.origin.split(':')[0]!, '.md').toLowerCase()}.ts`;
    writeFileSync(join(dir, name), `${toModule(s)}`);
    return name;
  });
  const runner = [
    `const blocks = ${JSON.stringify(snippets.map((s, i) => [s.origin, `./${modules[i]}`]))};`,
    'for (const [origin, file] of blocks) {',
    "  console.log('snippet start ' + origin);",
    '  const t0 = performance.now();',
    '  await import(file);',
    "  console.log('snippet ok ' + origin);",
    "  console.log('snippet ms ' + Math.round(performance.now() - t0) + ' ' + origin);",
    '}',
    "console.log('snippet checks ' + (globalThis.__snippetChecks ?? 0));",
    '',
  ].join('\n');
  writeFileSync(join(dir, 'run-snippets.mjs'), runner);
  return { snippets, modules, checks: snippets.reduce((n, s) => n + statedValues(s.code).length, 0) };
}
