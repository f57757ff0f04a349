// `codetune train` (a LoRA adapter, or --full fine-tuning, in a worker thread) and
// `codetune eval` (base vs base + adapter on the held-out split).
import * as path from 'node:path';
import { CodetuneError } from '../errors';
import { resolveModel } from '../hub/resolve';
import type { EvalMetrics, TrainProgress, TrainWorkerMessage } from '../protocol';
import { evaluate, parseTargets, startTraining, TRAIN_DEFAULTS, type TrainOptions } from '../train/index';
import { parseBackendFlag, parseFlags, parseNumber, printJson, required, whileInterruptible, type Command } from './args';

const trainUsage =
  'codetune train --repo PATH --model DIR|ORG/NAME --out DIR [--rank N] [--alpha N] [--targets q_proj,v_proj|all-linear] [--dropout X] [--epochs N] [--max-steps N] [--max-seconds N] ' +
  '[--lr X] [--warmup N] [--weight-decay X] [--max-grad-norm X] [--batch-size N] [--grad-accum N] [--seq-len N] [--seed N] [--eval-every N] [--patience N] ' +
  '[--checkpoint-every N] [--val-fraction F] [--include GLOB]... [--exclude GLOB]... [--no-eval] [--no-cache] [--backend auto|wasm|cpu|tensorflow] [--resume] [--full] [--json]';

function fmtProgress(p: TrainProgress): string {
  const val = p.valLoss !== undefined ? ` val ${p.valLoss.toFixed(4)}` : '';
  return `step ${p.step}/${p.totalSteps} epoch ${p.epoch.toFixed(2)} loss ${p.loss.toFixed(4)}${val} lr ${p.lr.toExponential(2)} ${p.tokensPerSec.toFixed(0)} tok/s eta ${p.etaSec.toFixed(0)} s mem ${(p.memoryBytes / 1e6).toFixed(1)} MB`;
}

function fmt(x: number | undefined | null, digits = 4): string {
  return x === undefined || x === null || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

/** Base and adapter metrics side by side. */
export function metricsTable(base: EvalMetrics | null, adapter: EvalMetrics | null): string {
  const rows: Array<[string, (m: EvalMetrics) => string]> = [
    ['held-out loss', (m) => fmt(m.valLoss)],
    ['perplexity', (m) => fmt(m.perplexity, 2)],
    ['first-line exact match', (m) => fmt(m.exactMatch, 3)],
    ['edit similarity', (m) => fmt(m.editSimilarity, 3)],
    ['NL→code pairs', (m) => String(m.pairs)],
  ];
  const cell = (m: EvalMetrics | null, f: (m: EvalMetrics) => string): string => (m ? f(m) : '—');
  const lines = [`${'metric'.padEnd(24)}${'base'.padStart(12)}${'adapter'.padStart(12)}`];
  for (const [name, f] of rows) {
    lines.push(`${name.padEnd(24)}${cell(base, f).padStart(12)}${cell(adapter, f).padStart(12)}`);
  }
  return lines.join('\n');
}

export const train: Command = {
  usage: trainUsage,
  summary: 'Train a LoRA adapter (or, with --full, every weight) on a git repository, in a worker thread; checkpoints as it goes; --resume continues after a crash.',
  async run(argv) {
    const f = parseFlags(
      argv,
      {
        repo: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' },
        rank: { type: 'string' }, alpha: { type: 'string' }, targets: { type: 'string' }, dropout: { type: 'string' },
        epochs: { type: 'string' }, 'max-steps': { type: 'string' }, 'max-seconds': { type: 'string' },
        lr: { type: 'string' }, warmup: { type: 'string' }, 'weight-decay': { type: 'string' }, 'max-grad-norm': { type: 'string' },
        'batch-size': { type: 'string' }, 'grad-accum': { type: 'string' }, 'seq-len': { type: 'string' }, seed: { type: 'string' },
        'eval-every': { type: 'string' }, patience: { type: 'string' }, 'checkpoint-every': { type: 'string' }, 'val-fraction': { type: 'string' },
        include: { type: 'string', multiple: true }, exclude: { type: 'string', multiple: true },
        'no-eval': { type: 'boolean' }, 'no-cache': { type: 'boolean' }, backend: { type: 'string' },
        resume: { type: 'boolean' }, full: { type: 'boolean' }, json: { type: 'boolean' },
      },
      trainUsage,
    );
    const u = trainUsage;
    const int = (v: string | undefined, flag: string, min = 1): number | undefined => (v === undefined ? undefined : parseNumber(v, flag, u, { integer: true, min }));
    const num = (v: string | undefined, flag: string, min = 0, max?: number): number | undefined => (v === undefined ? undefined : parseNumber(v, flag, u, { min, max }));
    const opts: TrainOptions = {
      repo: path.resolve(required(f.repo, 'repo', u)),
      model: (await resolveModel(required(f.model, 'model', u))).dir,
      out: path.resolve(required(f.out, 'out', u)),
      rank: int(f.rank, 'rank'),
      alpha: num(f.alpha, 'alpha'),
      targets: f.targets === undefined ? undefined : parseTargets(f.targets),
      dropout: num(f.dropout, 'dropout', 0, 0.99),
      epochs: num(f.epochs, 'epochs'),
      maxSteps: int(f['max-steps'], 'max-steps'),
      maxSeconds: num(f['max-seconds'], 'max-seconds'),
      lr: num(f.lr, 'lr', 0, 1),
      warmupSteps: int(f.warmup, 'warmup', 0),
      weightDecay: num(f['weight-decay'], 'weight-decay'),
      maxGradNorm: num(f['max-grad-norm'], 'max-grad-norm'),
      batchSize: int(f['batch-size'], 'batch-size'),
      gradAccum: int(f['grad-accum'], 'grad-accum'),
      seqLen: int(f['seq-len'], 'seq-len', 8),
      seed: int(f.seed, 'seed', 0),
      evalEvery: int(f['eval-every'], 'eval-every', 0),
      patience: int(f.patience, 'patience', 0),
      checkpointEvery: int(f['checkpoint-every'], 'checkpoint-every', 0),
      valFraction: num(f['val-fraction'], 'val-fraction', 0, 1),
      include: f.include,
      exclude: f.exclude,
      evaluate: !f['no-eval'],
      cacheDir: f['no-cache'] ? null : undefined,
      backend: parseBackendFlag(f.backend, trainUsage),
      resume: f.resume ?? false,
      full: f.full ?? false,
    };
    const json = f.json ?? false;
    const onMessage = (m: TrainWorkerMessage): void => {
      if (json) {
        if (m.type !== 'done') {
          printJson(m);
        }
      } else if (m.type === 'progress') {
        process.stdout.write(fmtProgress(m.progress) + '\n');
      } else if (m.type === 'log') {
        process.stderr.write(`${m.message}\n`);
      }
    };
    const job = startTraining(opts, onMessage);
    const stop = (): void => {
      process.stderr.write('stopping at the next step boundary (checkpoint kept)…\n');
      job.cancel();
    };
    await whileInterruptible(stop, async () => {
      const done = await job.done;
      if (!json) {
        process.stdout.write(`\n${metricsTable(done.metrics.base, done.metrics.adapter)}\n\n`);
      }
      printJson({ type: 'summary', ...done });
    });
  },
};

const evalUsage = 'codetune eval --repo PATH --model DIR|ORG/NAME [--adapter DIR] [--seq-len N] [--seed N] [--val-fraction F] [--max-pairs N] [--no-cache] [--backend auto|wasm|cpu|tensorflow] [--json]';

export const evalCmd: Command = {
  usage: evalUsage,
  summary: 'Held-out loss, perplexity and NL→code completion (first-line exact match, edit similarity) for the base model and base + adapter.',
  async run(argv) {
    const f = parseFlags(
      argv,
      {
        repo: { type: 'string' }, model: { type: 'string' }, adapter: { type: 'string' },
        'seq-len': { type: 'string' }, seed: { type: 'string' }, 'val-fraction': { type: 'string' }, 'max-pairs': { type: 'string' },
        'no-cache': { type: 'boolean' }, backend: { type: 'string' }, json: { type: 'boolean' },
      },
      evalUsage,
    );
    const int = (v: string | undefined, flag: string, min: number): number | undefined => (v === undefined ? undefined : parseNumber(v, flag, evalUsage, { integer: true, min }));
    const r = await evaluate({
      repo: path.resolve(required(f.repo, 'repo', evalUsage)),
      model: (await resolveModel(required(f.model, 'model', evalUsage))).dir,
      adapter: f.adapter ? path.resolve(f.adapter) : undefined,
      seqLen: int(f['seq-len'], 'seq-len', 8),
      seed: int(f.seed, 'seed', 0),
      valFraction: f['val-fraction'] === undefined ? undefined : parseNumber(f['val-fraction'], 'val-fraction', evalUsage, { min: 0, max: 1 }),
      maxPairs: int(f['max-pairs'], 'max-pairs', 0) ?? TRAIN_DEFAULTS.maxEvalPairs,
      cacheDir: f['no-cache'] ? null : undefined,
      backend: parseBackendFlag(f.backend, evalUsage),
    });
    if (r.base.pairs === 0 && !Number.isFinite(r.base.valLoss)) {
      throw new CodetuneError('EMPTY_DATASET', `${f.repo}: the validation split is empty (no held-out files); nothing to evaluate`);
    }
    if (f.json) {
      printJson({ backend: r.backend.backend, base: r.base, adapter: r.adapter });
    } else {
      process.stdout.write(`backend ${r.backend.backend}\n${metricsTable(r.base, r.adapter)}\n`);
    }
  },
};
