// Data pipeline bench: `npm run bench -- data [--files N] [--no-real]`.
// Two repos: a generated one (20,000 files in mixed languages) and a real code base
// from an npm package tarball (lodash, unpacked into a fresh git repo). For each:
// full build without and with tokenization, and an incremental rebuild after a
// one-file change. Writes bench/results/data.json.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildDataset, cacheSaved, type DatasetStats } from '../server/data/index';
import { DataCache } from '../server/data/cache';
import { FilePool } from '../server/data/pool';
import { CodeTokenizer, qwenTokenizerDir } from '../server/model/tokenizer';
import { printTable, writeResults } from './_util';

const REAL_PACKAGE = 'lodash@4.17.21';

/** Warm full builds timed per case (the best counts). Fewer leave the code less optimised, flattering the rebuild fractions. */
const WARM_RUNS = 10;
/** Rebuilds timed per kind (the best counts): as many as warm full builds, so a fraction compares like with like. */
const REBUILD_RUNS = WARM_RUNS;

function git(dir: string, ...args: string[]): void {
  execFileSync('git', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 28 });
}

function commitRepo(dir: string): void {
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Bench');
  git(dir, 'config', 'user.email', 'bench@example.invalid');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'import');
  // Files written in the second the index was written are "racily clean" to git, which
  // then re-reads them on every status check. A repo in daily use is past that: wait a
  // second and refresh the index, as any later git command in the work tree would.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1100);
  git(dir, 'update-index', '-q', '--refresh');
  // And let the kernel write the new files out now, not during the first timed build.
  execFileSync('sync');
}

/** `npm pack` the package (from the npm registry) and unpack it into a fresh git repo. */
function realRepo(root: string): string {
  const packDir = path.join(root, 'pack');
  fs.mkdirSync(packDir, { recursive: true });
  const out = execFileSync('npm', ['pack', REAL_PACKAGE, '--silent'], { cwd: packDir, encoding: 'utf8' }).trim().split('\n').pop()!;
  const repo = path.join(root, 'real');
  fs.mkdirSync(repo);
  execFileSync('tar', ['xzf', path.join(packDir, out), '-C', repo, '--strip-components=1']);
  commitRepo(repo);
  return repo;
}

interface CaseResult {
  files: number;
  mb: number;
  /**
   * Full build without tokenization, warm: the best of WARM_RUNS runs after the first
   * (worker threads started, code compiled and optimised, as in a server that has built
   * before). The rebuild fractions divide by this.
   */
  full_s: number;
  files_per_s: number;
  mb_per_s: number;
  /** Every warm full build (sorted), their median, and the rate and in-process rebuild fraction at the median. */
  full_warm_runs_s: number[];
  full_median_s: number;
  mb_per_s_median: number;
  incremental_fraction_of_median: number;
  /** The first full build in a fresh process (what a one-shot CLI run pays). */
  full_cold_s: number;
  files_per_s_cold: number;
  mb_per_s_cold: number;
  /** The same rates over CPU time: the machine is shared, so wall time includes waiting. */
  full_cpu_s: number;
  files_per_s_cpu: number;
  mb_per_s_cpu: number;
  load_avg: number;
  full_tokenized_s: number;
  files_per_s_tokenized: number;
  /**
   * Rebuild after a one-file change, over the warm full build, in the process that built
   * before (its cache and last run kept in memory). This is what "Train on this repo"
   * gets from the second run on: the language server keeps its training thread, which
   * builds the dataset, between jobs. Training writes the cache in the background
   * (DatasetOptions.cacheWrite), so the rebuild ends when the dataset is ready; the
   * time until its cache shards were also on disk is `incremental_until_saved_s`.
   */
  incremental_s: number;
  incremental_fraction: number;
  incremental_until_saved_s: number;
  /** How many of the in-process rebuilds patched the last build's tail (stats.cache.patched). */
  incremental_patched: number;
  /** Every in-process rebuild (s, in order: the first ones run while the JIT still compiles their code). */
  incremental_runs_s: number[];
  /**
   * The in-process rebuilds again without the full GC the bench runs before each timed
   * build (right after one, a rebuild of a few milliseconds takes about twice as long).
   * Best, and every run.
   */
  incremental_no_gc_s: number;
  incremental_no_gc_runs_s: number[];
  /** The same, with the in-memory cache dropped first: the cache is read from disk. */
  incremental_from_disk_s: number;
  incremental_fraction_from_disk: number;
  /** The same over CPU time (the full build's CPU includes its worker threads). */
  incremental_fraction_from_disk_cpu: number;
  /**
   * `codetune dataset` runs, each a new process: the build's own time (stats.timings.total)
   * with an empty cache, then after a one-file change with the cache on disk; the
   * fraction is the second over the first. The whole process (node start, writing the
   * JSONL) is reported next to it.
   */
  new_process_full_s: number;
  new_process_incremental_s: number;
  incremental_fraction_new_process: number;
  new_process_full_wall_s: number;
  new_process_incremental_wall_s: number;
  /** stats.timings of the fastest new-process rebuild (ms by step). */
  new_process_incremental_timings_ms: Record<string, number>;
  incremental_tokenized_s: number;
  incremental_tokenized_from_disk_s: number;
  /** Tokenized rebuilds over the tokenized full build: in process, and from disk. */
  incremental_fraction_tokenized: number;
  incremental_fraction_tokenized_from_disk: number;
  examples: Record<string, number>;
  stats: DatasetStats;
}

/** Wall seconds, and this process's CPU seconds (git subprocesses not included). */
async function timed<T>(f: () => Promise<T>): Promise<[T, number, number]> {
  const t = performance.now();
  const c = process.cpuUsage();
  const r = await f();
  const cpu = process.cpuUsage(c);
  return [r, (performance.now() - t) / 1000, (cpu.user + cpu.system) / 1e6];
}

async function measure(name: string, repo: string, tok: CodeTokenizer, work: string): Promise<CaseResult> {
  const changed = (i: number): void => {
    // One-file change: rewrite a tracked source file in the work tree.
    const files = execFileSync('git', ['ls-files', '*.js', '*.ts', '*.py'], { cwd: repo, encoding: 'utf8' }).split('\n').filter(Boolean);
    const f = path.join(repo, files[Math.floor(files.length / 2)]);
    fs.appendFileSync(f, `\n// Bench edit number ${i} adds a line here.\nvar benchEdit${i} = ${i};\n`);
  };
  // Each timing is the best of a few runs (the least disturbed one), and CPU time is
  // reported next to wall time. A full GC runs before each timed build (when the bench
  // runs with --expose-gc, as `bench` starts it), so no build pays for the garbage of
  // the one before; only the stats of a build are kept.
  const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);
  const build = async (o: Parameters<typeof buildDataset>[0]): Promise<[DatasetStats, number, number]> => {
    gc();
    const [ds, s, cpu] = await timed(() => buildDataset(o));
    return [ds.stats, s, cpu];
  };
  process.stderr.write(`[${name}] full build (no tokenizer), first in this process...\n`);
  await FilePool.closeShared(); // the first build starts its worker threads, as a CLI run does
  const [full, coldS] = await build({ repo, cacheDir: null });
  process.stderr.write(`[${name}]   ${coldS.toFixed(2)} s; full build (no tokenizer), warm, ${WARM_RUNS} times...\n`);
  let fullCpu = Infinity;
  const warm: number[] = [];
  for (let rep = 0; rep < WARM_RUNS; rep++) {
    const [, s, cpu] = await build({ repo, cacheDir: null });
    warm.push(s);
    fullCpu = Math.min(fullCpu, cpu);
  }
  warm.sort((a, b) => a - b);
  const fullS = warm[0];
  const fullMedianS = (warm[(warm.length - 1) >> 1] + warm[warm.length >> 1]) / 2;
  const cacheA = path.join(work, `${name}-cache-a`);
  const cacheB = path.join(work, `${name}-cache-b`);
  // From disk (as a new CLI process would), then in one process (as the language server does).
  let edit = 0;
  // Rebuilds as training runs them: the cache is written in the background. Each is
  // timed to its return and, apart, to the end of its cache writes.
  interface Rebuilds {
    /** Best wall time, best CPU time, best time until the cache was saved (s). */
    best: number;
    bestCpu: number;
    bestUntilSaved: number;
    /** Every run's wall time (s), in order. */
    runs: number[];
    /** How many patched the last build's tail. */
    patched: number;
  }
  const incremental = async (cacheDir: string, tokenizer: CodeTokenizer | undefined, fromDisk: boolean, forceGc = true): Promise<Rebuilds> => {
    const r: Rebuilds = { best: Infinity, bestCpu: Infinity, bestUntilSaved: Infinity, runs: [], patched: 0 };
    for (let rep = 0; rep < REBUILD_RUNS; rep++) {
      changed(++edit);
      if (fromDisk) {
        DataCache.clearMemory();
      }
      if (forceGc) {
        gc();
      }
      const t = performance.now();
      const [ds, s, cpu] = await timed(() => buildDataset({ repo, cacheDir, tokenizer, cacheWrite: 'background' }));
      const saveError = await cacheSaved(ds);
      const untilSaved = (performance.now() - t) / 1000;
      const st = ds.stats;
      if (st.cache.misses !== 1 || st.cache.fromMemory === fromDisk || saveError) {
        throw new Error(`expected one changed file read ${fromDisk ? 'from disk' : 'from memory'}, and the cache saved; misses ${st.cache.misses}${saveError ? `; ${saveError.message}` : ''}`);
      }
      r.patched += st.cache.patched ? 1 : 0;
      r.runs.push(s);
      r.best = Math.min(r.best, s);
      r.bestCpu = Math.min(r.bestCpu, cpu);
      r.bestUntilSaved = Math.min(r.bestUntilSaved, untilSaved);
    }
    return r;
  };
  // The tokenized full build runs on the repo as it came (every rebuild below edits a
  // file), so its stats are the repo's own.
  process.stderr.write(`[${name}]   ${fullS.toFixed(2)} s; full build (Qwen tokenizer)...\n`);
  const [fullTok, fullTokS] = await build({ repo, cacheDir: null, tokenizer: tok });
  process.stderr.write(`[${name}]   ${fullTokS.toFixed(1)} s; warm a cache, then rebuilds after a one-file change...\n`);
  await build({ repo, cacheDir: cacheA });
  const disk = await incremental(cacheA, undefined, true);
  const [incDiskS, incDiskCpu] = [disk.best, disk.bestCpu];
  const mem = await incremental(cacheA, undefined, false);
  const incMemS = mem.best;
  // The same without the full GC before each: right after a forced full GC a rebuild of
  // a few milliseconds takes about twice as long (not from bytecode flushing:
  // --no-flush-bytecode changes nothing; the cause is not established).
  const memNoGc = await incremental(cacheA, undefined, false, false);
  DataCache.clearMemory();
  process.stderr.write(`[${name}]   rebuild ${incMemS.toFixed(3)} s in process, ${incDiskS.toFixed(3)} s from disk; new processes (the CLI)...\n`);
  const cli = newProcessRuns(repo, work, () => changed(++edit));
  process.stderr.write(`[${name}]   CLI build ${cli.full.toFixed(2)} s, rebuild ${cli.incremental.toFixed(3)} s; warm a tokenized cache, then rebuilds after a one-file change...\n`);
  await build({ repo, cacheDir: cacheB, tokenizer: tok });
  const incTokS = (await incremental(cacheB, tok, true)).best;
  const incTokMemS = (await incremental(cacheB, tok, false)).best;
  DataCache.clearMemory();
  process.stderr.write(`[${name}]   tokenized rebuild ${incTokMemS.toFixed(2)} s in process, ${incTokS.toFixed(2)} s from disk\n`);
  const files = full.files.tracked;
  const mb = full.bytes.seen / 1e6;
  return {
    files,
    mb,
    full_s: fullS,
    files_per_s: files / fullS,
    mb_per_s: mb / fullS,
    full_warm_runs_s: warm,
    full_median_s: fullMedianS,
    mb_per_s_median: mb / fullMedianS,
    incremental_fraction_of_median: incMemS / fullMedianS,
    full_cold_s: coldS,
    files_per_s_cold: files / coldS,
    mb_per_s_cold: mb / coldS,
    full_cpu_s: fullCpu,
    files_per_s_cpu: files / fullCpu,
    mb_per_s_cpu: mb / fullCpu,
    load_avg: os.loadavg()[0],
    full_tokenized_s: fullTokS,
    files_per_s_tokenized: files / fullTokS,
    incremental_s: incMemS,
    incremental_fraction: incMemS / fullS,
    incremental_until_saved_s: mem.bestUntilSaved,
    incremental_patched: mem.patched,
    incremental_runs_s: mem.runs,
    incremental_no_gc_s: memNoGc.best,
    incremental_no_gc_runs_s: memNoGc.runs,
    incremental_from_disk_s: incDiskS,
    incremental_fraction_from_disk: incDiskS / fullS,
    incremental_fraction_from_disk_cpu: incDiskCpu / fullCpu,
    new_process_full_s: cli.full,
    new_process_incremental_s: cli.incremental,
    incremental_fraction_new_process: cli.incremental / cli.full,
    new_process_full_wall_s: cli.fullWall,
    new_process_incremental_wall_s: cli.incrementalWall,
    new_process_incremental_timings_ms: cli.incrementalTimings,
    incremental_tokenized_s: incTokMemS,
    incremental_tokenized_from_disk_s: incTokS,
    incremental_fraction_tokenized: incTokMemS / fullTokS,
    incremental_fraction_tokenized_from_disk: incTokS / fullTokS,
    examples: fullTok.examples.byType,
    stats: fullTok,
  };
}

/**
 * `codetune dataset` (the bundled CLI) in new processes, with a cache folder of its own:
 * the best of 3 builds with an empty cache, then the best of 3 rebuilds after a one-file
 * change each. Build time is the CLI's own stats.timings.total; wall time is the process's.
 */
function newProcessRuns(repo: string, work: string, change: () => void): { full: number; incremental: number; fullWall: number; incrementalWall: number; incrementalTimings: Record<string, number> } {
  const cli = path.join(__dirname, '..', 'dist', 'cli.js');
  const cacheHome = path.join(work, 'cli-cache');
  let lastTimings: Record<string, number> = {};
  const run = (): [number, number] => {
    const stats = path.join(work, 'cli-stats.json');
    const t = performance.now();
    execFileSync(process.execPath, [cli, 'dataset', '--repo', repo, '--out', path.join(work, 'cli.jsonl'), '--stats', stats], { env: { ...process.env, XDG_CACHE_HOME: cacheHome }, stdio: ['ignore', 'ignore', 'inherit'] });
    const wall = (performance.now() - t) / 1000;
    const st = JSON.parse(fs.readFileSync(stats, 'utf8')) as DatasetStats;
    lastTimings = st.timings;
    return [st.timings.total / 1000, wall];
  };
  let full: [number, number] = [Infinity, Infinity];
  for (let rep = 0; rep < 3; rep++) {
    fs.rmSync(cacheHome, { recursive: true, force: true });
    const r = run();
    full = [Math.min(full[0], r[0]), Math.min(full[1], r[1])];
  }
  let inc: [number, number] = [Infinity, Infinity];
  let incrementalTimings: Record<string, number> = {};
  for (let rep = 0; rep < 3; rep++) {
    change();
    const r = run();
    if (r[0] < inc[0]) {
      incrementalTimings = lastTimings;
    }
    inc = [Math.min(inc[0], r[0]), Math.min(inc[1], r[1])];
  }
  return { full: full[0], incremental: inc[0], fullWall: full[1], incrementalWall: inc[1], incrementalTimings };
}

const CASES = ['generated', 'real'] as const;

/** One case, in this process: build its repo, measure, write the result to `out`. */
async function runCase(name: string, nFiles: number, out: string): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'codetune-bench-data-'));
  try {
    const tok = CodeTokenizer.fromDir(qwenTokenizerDir());
    let repo: string;
    if (name === 'generated') {
      repo = path.join(work, 'generated');
      process.stderr.write(`generating ${nFiles} files...\n`);
      generateRepo(repo, nFiles, 1);
      commitRepo(repo);
    } else {
      repo = realRepo(work);
    }
    const result = await measure(name, repo, tok, work);
    fs.writeFileSync(out, JSON.stringify(result));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export default async function bench(args: string[]): Promise<void> {
  // Measure the worker the product runs: the bundled dist/data-worker.js (`npm run bench`
  // builds first), not worker.ts through tsx, whose start-up compiles TypeScript.
  const bundled = path.join(__dirname, '..', 'dist', 'data-worker.js');
  if (fs.existsSync(bundled)) {
    process.env.CODETUNE_DATA_WORKER = bundled;
  }
  const arg = (flag: string): string | undefined => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const nFiles = Number(arg('--files') ?? 20_000);
  const only = arg('--case');
  if (only) {
    await runCase(only, nFiles, arg('--out') ?? path.join(os.tmpdir(), `codetune-bench-data-${only}.json`));
    return;
  }
  // Each case runs in a fresh process, so its first build is really a first build and
  // neither case's heap, caches or threads weigh on the other's timings.
  const names = CASES.filter((c) => c === 'generated' || !args.includes('--no-real'));
  const cases: Record<string, CaseResult> = {};
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codetune-bench-data-out-'));
  try {
    for (const name of names) {
      const out = path.join(tmp, `${name}.json`);
      execFileSync(process.execPath, ['--expose-gc', ...process.execArgv, path.join(__dirname, 'run.ts'), 'data', '--case', name, '--files', String(nFiles), '--out', out], { stdio: 'inherit' });
      cases[name] = JSON.parse(fs.readFileSync(out, 'utf8')) as CaseResult;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const rows = Object.entries(cases).map(([name, c]) => ({
    case: name,
    files: c.files,
    MB: c.mb,
    'files/s': c.files_per_s,
    'MB/s': c.mb_per_s,
    'MB/s median': c.mb_per_s_median,
    'files/s cold': c.files_per_s_cold,
    'MB/s cold': c.mb_per_s_cold,
    'MB/s per cpu-s': c.mb_per_s_cpu,
    'files/s tok': c.files_per_s_tokenized,
    'incr frac': c.incremental_fraction,
    'incr frac no gc': c.incremental_no_gc_s / c.full_s,
    'incr frac disk': c.incremental_fraction_from_disk,
    'incr frac new proc': c.incremental_fraction_new_process,
    'incr frac tok': c.incremental_fraction_tokenized,
    'incr frac tok disk': c.incremental_fraction_tokenized_from_disk,
    pair: c.examples.pair,
    comment: c.examples.comment,
    fim: c.examples.fim,
    lm: c.examples.lm,
    load: c.load_avg,
  }));
  printTable(`data pipeline (${os.cpus().length} cpus; real = ${REAL_PACKAGE})`, rows);
  writeResults('data', { cases, real_package: REAL_PACKAGE, cpus: os.cpus().length, node: process.version, worker: process.env.CODETUNE_DATA_WORKER ?? 'worker.ts (tsx)' });
}

// --- generated repo -------------------------------------------------------------

const WORDS = 'user order item price total count index value name list map cache queue node tree graph edge path file line token parse render fetch store load save merge split sort filter reduce scale limit offset buffer stream event handler config option result error state'.split(' ');

export function generateRepo(dir: string, n: number, seed: number): void {
  let s = seed >>> 0;
  const r = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const w = (): string => WORDS[Math.floor(r() * WORDS.length)];
  const cap = (x: string): string => x[0].toUpperCase() + x.slice(1);
  const ident = (): string => `${w()}${cap(w())}${Math.floor(r() * 1000)}`;
  const doc = (): string => `${cap(w())} the ${w()} ${w()} of each ${w()} and return the ${w()}.`;
  const stmts = (k: number, fmt: (a: string, b: string, c: number) => string): string[] => Array.from({ length: k }, () => fmt(ident(), ident(), Math.floor(r() * 100000)));
  const langs: Array<[string, () => string]> = [
    ['ts', () => `/** ${doc()} */\nexport function ${ident()}(${w()}: number[]): number {\n${stmts(3 + Math.floor(r() * 6), (a, b, c) => `  const ${a} = ${b.length} * ${c};`).join('\n')}\n  return ${c0()};\n}\n`],
    ['js', () => `// ${doc()}\nfunction ${ident()}(${w()}) {\n${stmts(3 + Math.floor(r() * 6), (a, b, c) => `  var ${a} = ${c} + "${b}";`).join('\n')}\n  return null;\n}\n`],
    ['py', () => `def ${ident()}(${w()}):\n    """${doc()}"""\n${stmts(3 + Math.floor(r() * 6), (a, b, c) => `    ${a} = ${c} * len("${b}")`).join('\n')}\n    return None\n\n`],
    ['go', () => `// ${cap(ident())} does this: ${doc()}\nfunc ${cap(ident())}(x int) int {\n${stmts(3 + Math.floor(r() * 6), (a, _b, c) => `\t${a} := x * ${c}\n\t_ = ${a}`).join('\n')}\n\treturn x\n}\n\n`],
    ['rs', () => `/// ${doc()}\npub fn ${ident().toLowerCase()}(x: i64) -> i64 {\n${stmts(3 + Math.floor(r() * 6), (a, _b, c) => `    let ${a.toLowerCase()} = x * ${c};`).join('\n')}\n    x\n}\n\n`],
    ['java', () => `  /** ${doc()} */\n  public int ${ident()}(int x) {\n${stmts(3 + Math.floor(r() * 6), (a, _b, c) => `    int ${a} = x * ${c};`).join('\n')}\n    return x;\n  }\n`],
    ['cs', () => `  /// <summary>${doc()}</summary>\n  public int ${cap(ident())}(int x) {\n${stmts(3 + Math.floor(r() * 6), (a, _b, c) => `    var ${a} = x * ${c};`).join('\n')}\n    return x;\n  }\n`],
    ['c', () => `/* ${doc()} */\nint ${ident()}(int x) {\n${stmts(3 + Math.floor(r() * 6), (a, _b, c) => `  int ${a} = x * ${c};`).join('\n')}\n  return x;\n}\n\n`],
    ['cpp', () => `/// ${doc()}\nint ${ident()}(int x) {\n${stmts(3 + Math.floor(r() * 6), (a, _b, c) => `  auto ${a} = x * ${c};`).join('\n')}\n  return x;\n}\n\n`],
  ];
  function c0(): string {
    return String(Math.floor(r() * 10));
  }
  for (let i = 0; i < n; i++) {
    const [ext, fn] = langs[i % langs.length];
    const body = Array.from({ length: 2 + Math.floor(r() * 4) }, fn).join('\n');
    const text = ext === 'java' ? `public class C${i} {\n${body}}\n` : ext === 'cs' ? `public class C${i} {\n${body}}\n` : body;
    const sub = i % 50 === 49 ? 'node_modules/dep' : `src/m${Math.floor(i / 200)}`;
    const file = path.join(dir, sub, `${w()}_${i}.${ext}`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}
