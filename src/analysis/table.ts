// Labelled result tables (one row per cell type x stimulus parameters) and their export as
// CSV (RFC 4180 quoting) and JSON ({ columns, rows } plus metadata).
export type Cell = string | number | null;

export interface ResultTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

export function tableOf<T extends object>(records: readonly T[], columns: readonly (keyof T & string)[], names?: readonly string[]): ResultTable {
  return {
    columns: names ?? columns,
    rows: records.map((r) => columns.map((c) => {
      const x = r[c] as unknown;
      return typeof x === 'number' || typeof x === 'string' ? x : x === null || x === undefined ? null : String(x);
    })),
  };
}

const csvCell = (x: Cell): string => {
  if (x === null) return '';
  if (typeof x === 'number') return Number.isFinite(x) ? String(x) : x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  return /[",\n\r]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x;
};

export function toCsv(t: ResultTable): string {
  return [t.columns.map(csvCell).join(','), ...t.rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
}

/** Parses CSV written by toCsv (numbers where a cell parses as one). */
export function parseCsv(text: string): ResultTable {
  const lines: Cell[][] = [];
  let row: Cell[] = [];
  let cell = '';
  let quoted = false;
  let wasQuoted = false;
  const push = (): void => {
    const n = Number(cell);
    row.push(wasQuoted ? cell : cell === '' ? null : cell !== '' && Number.isFinite(n) ? n : cell);
    cell = '';
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') {
      quoted = true;
      wasQuoted = true;
    } else if (ch === ',') push();
    else if (ch === '\n') {
      push();
      lines.push(row);
      row = [];
    } else if (ch !== '\r') cell += ch;
  }
  if (cell !== '' || row.length > 0) {
    push();
    lines.push(row);
  }
  const [header, ...rows] = lines;
  return { columns: (header ?? []).map(String), rows };
}

const finiteOrNull = (_k: string, x: unknown): unknown => (typeof x === 'number' && !Number.isFinite(x) ? null : x);

export function toJson(t: ResultTable, meta: Readonly<Record<string, unknown>> = {}): string {
  return JSON.stringify({ ...meta, columns: t.columns, rows: t.rows }, finiteOrNull, 1) + '\n';
}
