// Benchmark runner: `npm run bench -- NAME [args]` runs bench/NAME.ts, whose default
// export prints a table and writes bench/results/NAME.json. Benches compare within
// one run; tests never assert on timings.
import * as fs from 'node:fs';
import * as path from 'node:path';

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const available = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
    .map((f) => f.replace(/\.ts$/, ''));
  if (!name || !available.includes(name)) {
    process.stderr.write(`usage: npm run bench -- <${available.join('|')}> [args]\n`);
    process.exitCode = 2;
    return;
  }
  const mod = (await import(path.join(__dirname, `${name}.ts`))) as { default: (args: string[]) => Promise<void> };
  await mod.default(args);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
