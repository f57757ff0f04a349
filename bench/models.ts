// Memory when loading a sharded checkpoint: peak RSS of a fresh process that loads
// bench-small (single file and split into shards), against its size on disk and the
// float32 weights. `npm run bench -- models [--shards N] [--backends cpu,wasm]`
// Each load runs in its own child process (this file, run directly), so peaks do not
// mix; the peak is reset after the backend starts, so it covers the load alone. Linux only.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { printTable, writeResults } from './_util';

interface ChildResult {
  backend: string;
  baselineRssMiB: number;
  peakRssMiB: number;
  shards: number;
  largestShardMiB: number;
  parameters: number;
  estimateMiB: number;
}

const MiB = 2 ** 20;

function dirBytes(dir: string, filter: (f: string) => boolean): number {
  return fs.readdirSync(dir).filter(filter).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
}

/**
 * Peak RSS of this process in bytes: VmHWM from /proc (Linux). Not ru_maxrss, which
 * Linux carries over from the parent across fork+exec.
 */
function peakRss(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!m) {
    throw new Error('no VmHWM in /proc/self/status: this bench needs Linux');
  }
  return Number(m[1]) * 1024;
}

/** Reset the peak to the current RSS (Linux >= 4.0: write 5 to clear_refs). */
function resetPeak(): void {
  fs.writeFileSync('/proc/self/clear_refs', '5');
}

/** Child: init the backend, note the RSS, load the model, report the peak RSS. */
async function child(dir: string, backend: string): Promise<void> {
  const { initBackend } = await import('../server/model/backend');
  const { loadModel } = await import('../server/model/checkpoint');
  const { readModelConfig } = await import('../server/model/config');
  const { checkMemory } = await import('../server/hub/memory');
  const report = await initBackend(backend as 'cpu' | 'wasm');
  resetPeak();
  const baseline = process.memoryUsage.rss();
  const shardSizes: number[] = [];
  const model = loadModel(dir, { onShard: (file) => shardSizes.push(fs.statSync(file).size) });
  const peak = peakRss();
  const est = checkMemory(readModelConfig(dir), 0, { largestShardBytes: Math.max(...shardSizes), availableBytes: Infinity });
  model.dispose();
  const out: ChildResult = {
    backend: report.backend,
    baselineRssMiB: baseline / MiB,
    peakRssMiB: peak / MiB,
    shards: shardSizes.length,
    largestShardMiB: Math.max(...shardSizes) / MiB,
    parameters: est.parameters,
    estimateMiB: est.totalBytes / MiB,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

export default async function main(args: string[]): Promise<void> {
  const flag = (name: string, fallback: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
  };
  const nShards = Number(flag('shards', '4'));
  const backends = flag('backends', 'cpu,wasm').split(',');
  const { initBase, PRESETS } = await import('../server/model/init');
  const { shardCheckpoint } = await import('../server/hub/shard');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codetune-bench-models-'));
  try {
    const single = path.join(tmp, 'bench-small');
    const sharded = path.join(tmp, `bench-small-${nShards}-shards`);
    const init = initBase(single, PRESETS['bench-small'], { seed: 0 });
    shardCheckpoint(single, sharded, nShards);
    const tsx = pathToFileURL(require.resolve('tsx')).href;
    const rows: Array<Record<string, string | number>> = [];
    const results: Array<ChildResult & { layout: string; diskWeightsMiB: number; float32WeightsMiB: number }> = [];
    for (const backend of backends) {
      for (const [layout, dir] of [['single file', single], [`${nShards} shards`, sharded]] as const) {
        const stdout = execFileSync(process.execPath, ['--import', tsx, __filename, '--child', dir, backend], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
        const r = JSON.parse(stdout.trim().split('\n').pop() as string) as ChildResult;
        const diskWeightsMiB = dirBytes(dir, (f) => f.endsWith('.safetensors')) / MiB;
        const float32WeightsMiB = (r.parameters * 4) / MiB;
        results.push({ ...r, layout, diskWeightsMiB, float32WeightsMiB });
        rows.push({
          backend: r.backend,
          layout,
          'disk MiB': diskWeightsMiB,
          'fp32 weights MiB': float32WeightsMiB,
          'largest shard MiB': r.largestShardMiB,
          'RSS before MiB': r.baselineRssMiB,
          'peak RSS MiB': r.peakRssMiB,
          'load delta MiB': r.peakRssMiB - r.baselineRssMiB,
          'delta / fp32': (r.peakRssMiB - r.baselineRssMiB) / float32WeightsMiB,
        });
      }
    }
    printTable(`Loading bench-small (${(init.parameters / 1e6).toFixed(1)}M parameters, F32 on disk): peak RSS of a fresh process`, rows);
    writeResults('models', { preset: 'bench-small', parameters: init.parameters, shards: nShards, node: process.version, results });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module && process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4]).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
