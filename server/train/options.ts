// Training options, their defaults and their checks. Defaults follow common LoRA practice
// for code models (see docs/TRAINING.md): r 16, alpha 2r, all linear layers, lr 2e-4,
// a few epochs, capped by wall-clock time on CPU backends.
import { CodetuneError } from '../errors';
import type { BackendChoice } from '../model/backend';

export interface TrainOptions {
  /** Folder inside a git work tree. */
  repo: string;
  /** Hugging Face model folder (config.json, safetensors, tokenizer.json). */
  model: string;
  /** Where the adapter (PEFT folder + codetune.json) goes. */
  out: string;
  rank?: number;
  alpha?: number;
  /** `q_proj,v_proj`-style module names, or 'all-linear'. */
  targets?: string[] | 'all-linear';
  dropout?: number;
  epochs?: number;
  /** Stop after this many optimizer steps (overrides epochs when smaller). */
  maxSteps?: number;
  /** Stop (and save) after this many seconds of training. */
  maxSeconds?: number;
  lr?: number;
  warmupSteps?: number;
  /** Cosine decay floor as a fraction of lr. */
  minLrRatio?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Global-norm clip; 0 disables. */
  maxGradNorm?: number;
  batchSize?: number;
  gradAccum?: number;
  seqLen?: number;
  seed?: number;
  /** Train every base weight instead of a LoRA adapter (for comparisons). */
  full?: boolean;
  /** Validate every N steps (0: only at the end). */
  evalEvery?: number;
  /** Stop after this many validations without improvement (0: never). */
  patience?: number;
  /** Cap on validation sequences per validation. */
  maxValSequences?: number;
  /** Checkpoint every N steps (0: only on cancel and at the end). */
  checkpointEvery?: number;
  /** Continue from the checkpoint next to `out`. */
  resume?: boolean;
  /** Run the held-out evaluation (base vs adapter) after training. */
  evaluate?: boolean;
  /** Cap on NL→code pairs in the evaluation. */
  maxEvalPairs?: number;
  /** Fraction of files held out for validation (data pipeline). */
  valFraction?: number;
  include?: string[];
  exclude?: string[];
  backend?: BackendChoice;
  /** Data-pipeline cache folder; null disables it. */
  cacheDir?: string | null;
}

export type ResolvedOptions = Required<Omit<TrainOptions, 'maxSteps' | 'maxSeconds' | 'include' | 'exclude' | 'cacheDir'>> &
  Pick<TrainOptions, 'maxSteps' | 'maxSeconds' | 'include' | 'exclude' | 'cacheDir'>;

export const TRAIN_DEFAULTS = {
  rank: 16,
  alpha: 32,
  targets: 'all-linear' as const,
  dropout: 0.05,
  epochs: 3,
  lr: 2e-4,
  warmupSteps: 10,
  minLrRatio: 0.1,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  maxGradNorm: 1,
  batchSize: 4,
  gradAccum: 1,
  seqLen: 256,
  seed: 0,
  full: false,
  evalEvery: 50,
  patience: 3,
  maxValSequences: 32,
  checkpointEvery: 50,
  resume: false,
  evaluate: true,
  maxEvalPairs: 24,
  valFraction: 0.1,
  backend: 'auto' as BackendChoice,
};

function check(ok: boolean, message: string): void {
  if (!ok) {
    throw new CodetuneError('USAGE', message);
  }
}

/** Fill in defaults and check ranges; throws USAGE on a bad value. */
export function resolveOptions(o: TrainOptions): ResolvedOptions {
  const r: ResolvedOptions = { ...TRAIN_DEFAULTS, ...stripUndefined(o) } as ResolvedOptions;
  if (o.rank !== undefined && o.alpha === undefined) {
    r.alpha = 2 * o.rank;
  }
  check(typeof r.repo === 'string' && r.repo.length > 0, 'training needs a repo');
  check(typeof r.model === 'string' && r.model.length > 0, 'training needs a model folder');
  check(typeof r.out === 'string' && r.out.length > 0, 'training needs an output folder');
  check(Number.isInteger(r.rank) && r.rank > 0, `rank must be a positive integer, got ${r.rank}`);
  check(r.alpha > 0, `alpha must be positive, got ${r.alpha}`);
  check(r.dropout >= 0 && r.dropout < 1, `dropout must be in [0, 1), got ${r.dropout}`);
  check(r.epochs > 0, `epochs must be positive, got ${r.epochs}`);
  check(r.maxSteps === undefined || (Number.isInteger(r.maxSteps) && r.maxSteps > 0), `max-steps must be a positive integer, got ${r.maxSteps}`);
  check(r.lr > 0 && r.lr < 1, `lr must be in (0, 1), got ${r.lr}`);
  check(Number.isInteger(r.batchSize) && r.batchSize > 0, `batch-size must be a positive integer, got ${r.batchSize}`);
  check(Number.isInteger(r.gradAccum) && r.gradAccum > 0, `grad-accum must be a positive integer, got ${r.gradAccum}`);
  check(Number.isInteger(r.seqLen) && r.seqLen >= 8, `seq-len must be an integer >= 8, got ${r.seqLen}`);
  check(Number.isInteger(r.seed) && r.seed >= 0, `seed must be a non-negative integer, got ${r.seed}`);
  check(r.maxGradNorm >= 0 && r.weightDecay >= 0, 'max-grad-norm and weight-decay must be >= 0');
  check(Array.isArray(r.targets) ? r.targets.length > 0 : r.targets === 'all-linear', 'targets must be module names or all-linear');
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `q_proj,v_proj` or `all-linear` → targets. */
export function parseTargets(text: string): string[] | 'all-linear' {
  if (text === 'all-linear') {
    return 'all-linear';
  }
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  check(names.length > 0, `--targets must be module names (e.g. q_proj,v_proj) or all-linear, got "${text}"`);
  return names;
}

/** The hyperparameters written to codetune.json and compared on resume. */
export function hyperparameters(r: ResolvedOptions): Record<string, unknown> {
  const keys: Array<keyof ResolvedOptions> = ['rank', 'alpha', 'targets', 'dropout', 'epochs', 'maxSteps', 'lr', 'warmupSteps', 'minLrRatio', 'weightDecay', 'beta1', 'beta2', 'eps', 'maxGradNorm', 'batchSize', 'gradAccum', 'seqLen', 'seed', 'full', 'evalEvery', 'patience', 'valFraction'];
  return Object.fromEntries(keys.map((k) => [k, r[k] ?? null]));
}
