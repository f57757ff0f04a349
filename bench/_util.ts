// Shared helpers for benches: a plain-text table and the JSON results file.
import * as fs from 'node:fs';
import * as path from 'node:path';

export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  if (rows.length === 0) {
    return;
  }
  const cols = Object.keys(rows[0]);
  const fmt = (v: string | number): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c] ?? '').length)));
  const line = (cells: string[]): string => cells.map((s, i) => s.padEnd(widths[i])).join('  ');
  process.stdout.write(`\n${title}\n${line(cols)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) {
    process.stdout.write(`${line(cols.map((c) => fmt(r[c] ?? '')))}\n`);
  }
}

export function writeResults(name: string, data: unknown): string {
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)}\n`);
  return file;
}
