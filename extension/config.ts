// The extension's settings: one typed getter per `codetune.*` setting, after
// rust-analyzer's Config class. No `vscode` import: the source of values is an
// interface, so the logic is unit-tested without VS Code. Every getter checks the
// value and falls back to the default, so a bad settings.json never breaks activation.
import type { ServerSettings } from '../server/protocol';

/** Reads a setting below `codetune.` (e.g. `completions.maxTokens`); vscode's WorkspaceConfiguration fits. */
export interface ConfigSource {
  get<T>(key: string): T | undefined;
}

export type BackendSetting = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendSetting[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Languages that get inline completions by default (VS Code language ids). */
export const DEFAULT_LANGUAGES: readonly string[] = [
  'typescript', 'typescriptreact', 'javascript', 'javascriptreact', 'python', 'go', 'rust', 'java',
  'csharp', 'cpp', 'c', 'ruby', 'php', 'shellscript',
];

export const DEFAULTS = {
  enable: true,
  maxTokens: 64,
  debounceMs: 75,
  baseModel: '',
  backend: 'auto' as BackendSetting,
  rank: 16,
  alpha: 32,
  epochs: 3,
  maxSteps: 0,
  learningRate: 2e-4,
  adapterStorage: '',
};

/** Every setting key (below `codetune.`) that Config reads. The manifest must declare exactly these. */
export const SETTING_KEYS = [
  'enable',
  'completions.languages', 'completions.maxTokens', 'completions.debounceMs',
  'baseModel', 'backend',
  'training.rank', 'training.alpha', 'training.targets', 'training.epochs', 'training.maxSteps', 'training.learningRate',
  'training.advanced',
  'adapterStorage',
] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

/**
 * What a change to each setting needs. `restart`: the server reads it at start
 * (initializationOptions, the document selector). `model`: the extension asks the
 * running server to load another model. `live`: read on every use.
 */
export const SETTING_EFFECT: Record<SettingKey, 'restart' | 'model' | 'live'> = {
  enable: 'restart',
  'completions.languages': 'restart',
  'completions.maxTokens': 'restart',
  'completions.debounceMs': 'live',
  baseModel: 'model',
  backend: 'restart',
  'training.rank': 'live',
  'training.alpha': 'live',
  'training.targets': 'live',
  'training.epochs': 'live',
  'training.maxSteps': 'live',
  'training.learningRate': 'live',
  'training.advanced': 'live',
  adapterStorage: 'restart',
};

/** The keys among `changed` (full `codetune.x` names, or a predicate like ConfigurationChangeEvent.affectsConfiguration) that need a restart. */
export function restartKeys(affects: (fullKey: string) => boolean): string[] {
  return SETTING_KEYS.filter((k) => SETTING_EFFECT[k] === 'restart' && affects(`codetune.${k}`)).map((k) => `codetune.${k}`);
}

function int(v: unknown, min: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fallback;
}

function real(v: unknown, minExclusive: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > minExclusive && v <= max ? v : fallback;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

export class Config {
  constructor(private readonly src: ConfigSource) {}

  /** `codetune.enable`: start the server and serve completions. */
  get enable(): boolean {
    const v = this.src.get<unknown>('enable');
    return typeof v === 'boolean' ? v : DEFAULTS.enable;
  }

  get languages(): string[] {
    const v = this.src.get<unknown>('completions.languages');
    if (!Array.isArray(v)) {
      return [...DEFAULT_LANGUAGES];
    }
    return [...new Set(v.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim()))];
  }

  get maxTokens(): number {
    return int(this.src.get('completions.maxTokens'), 1, 1024, DEFAULTS.maxTokens);
  }

  get debounceMs(): number {
    return int(this.src.get('completions.debounceMs'), 0, 5000, DEFAULTS.debounceMs);
  }

  /** A model folder or a hub id (`org/name[@rev]`); '' when none is set. */
  get baseModel(): string {
    return str(this.src.get('baseModel'));
  }

  get backend(): BackendSetting {
    const v = this.src.get<unknown>('backend');
    return BACKENDS.find((b) => b === v) ?? DEFAULTS.backend;
  }

  get trainingRank(): number {
    return int(this.src.get('training.rank'), 1, 1024, DEFAULTS.rank);
  }

  /** Default: twice the rank, as the trainer does when only the rank is given. */
  get trainingAlpha(): number {
    return real(this.src.get('training.alpha'), 0, 1e6, 2 * this.trainingRank);
  }

  /** Module names (`q_proj`, …); empty means every linear layer. */
  get trainingTargets(): string[] {
    const v = this.src.get<unknown>('training.targets');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim()) : [];
  }

  get trainingEpochs(): number {
    return real(this.src.get('training.epochs'), 0, 1000, DEFAULTS.epochs);
  }

  /** 0: no cap (the epochs decide). */
  get trainingMaxSteps(): number {
    return int(this.src.get('training.maxSteps'), 0, 10_000_000, DEFAULTS.maxSteps);
  }

  get trainingLearningRate(): number {
    const v = this.src.get<unknown>('training.learningRate');
    return typeof v === 'number' && v > 0 && v < 1 ? v : DEFAULTS.learningRate;
  }

  /**
   * Further trainer options, passed as they are (seqLen, batchSize, dropout, warmupSteps,
   * valFraction, evaluate, …; see `codetune train --help`). Only JSON scalars and arrays
   * of them; the settings above take precedence over the same names here.
   */
  get trainingAdvanced(): Record<string, unknown> {
    const v = this.src.get<unknown>('training.advanced');
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      return {};
    }
    const scalar = (x: unknown) => x === null || ['string', 'number', 'boolean'].includes(typeof x);
    return Object.fromEntries(Object.entries(v).filter(([k, x]) => /^[A-Za-z][A-Za-z0-9]*$/.test(k) && (scalar(x) || (Array.isArray(x) && x.every(scalar)))));
  }

  /** Where adapters are stored; '' means the extension's global storage. */
  get adapterStorage(): string {
    return str(this.src.get('adapterStorage'));
  }

  /** The server's `initializationOptions`. `baseModelDir` is the resolved folder (a hub id resolved to its snapshot). */
  serverSettings(globalStorage: string, baseModelDir: string | null): ServerSettings {
    return {
      storagePath: this.adapterStorage || globalStorage,
      ...(baseModelDir ? { baseModel: baseModelDir } : {}),
      backend: this.backend,
      completions: { maxTokens: this.maxTokens },
      training: this.trainOptions(),
    };
  }

  /** Trainer options for `codetune/train` (names as server/train/options.ts has them). */
  trainOptions(): Record<string, unknown> {
    const targets = this.trainingTargets;
    const steps = this.trainingMaxSteps;
    return {
      ...this.trainingAdvanced,
      rank: this.trainingRank,
      alpha: this.trainingAlpha,
      targets: targets.length > 0 ? targets : 'all-linear',
      epochs: this.trainingEpochs,
      ...(steps > 0 ? { maxSteps: steps } : {}),
      lr: this.trainingLearningRate,
    };
  }
}
