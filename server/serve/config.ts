// Server settings: `initializationOptions` first, command-line flags for what they leave
// out, then defaults. Validated once, so the rest of the server reads plain values.
import * as os from 'node:os';
import * as path from 'node:path';
import { CodetuneError } from '../errors';
import type { BackendChoice } from '../model/backend';
import { BACKEND_CHOICES } from '../model/backend';
import type { CompletionSettings, ServerSettings } from '../protocol';

export interface CompletionConfig {
  maxPromptTokens: number;
  suffixShare: number;
  maxTokens: number;
  maxSingleLineTokens: number;
  debounceMs: number;
  temperature: number;
  fimMode: 'psm' | 'spm';
  mergedCacheSize: number;
  kvReuse: boolean;
}

export interface ResolvedSettings {
  storagePath: string;
  baseModel: string | null;
  backend: BackendChoice;
  completions: CompletionConfig;
  training: Record<string, unknown>;
}

export const DEFAULT_COMPLETIONS: CompletionConfig = {
  maxPromptTokens: 512,
  suffixShare: 0.25,
  maxTokens: 64,
  maxSingleLineTokens: 24,
  debounceMs: 0,
  temperature: 0,
  fimMode: 'psm',
  mergedCacheSize: 2,
  kvReuse: true,
};

export function defaultStoragePath(): string {
  return path.join(os.homedir(), '.codetune');
}

function num(v: unknown, name: string, min: number, max: number, fallback: number): number {
  if (v === undefined || v === null) {
    return fallback;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new CodetuneError('USAGE', `completions.${name} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

export function completionConfig(c: CompletionSettings = {}): CompletionConfig {
  const d = DEFAULT_COMPLETIONS;
  if (c.fimMode !== undefined && c.fimMode !== 'psm' && c.fimMode !== 'spm') {
    throw new CodetuneError('USAGE', `completions.fimMode must be "psm" or "spm", got ${JSON.stringify(c.fimMode)}`);
  }
  return {
    maxPromptTokens: Math.round(num(c.maxPromptTokens, 'maxPromptTokens', 16, 32768, d.maxPromptTokens)),
    suffixShare: num(c.suffixShare, 'suffixShare', 0, 0.9, d.suffixShare),
    maxTokens: Math.round(num(c.maxTokens, 'maxTokens', 1, 1024, d.maxTokens)),
    maxSingleLineTokens: Math.round(num(c.maxSingleLineTokens, 'maxSingleLineTokens', 1, 1024, d.maxSingleLineTokens)),
    debounceMs: num(c.debounceMs, 'debounceMs', 0, 5000, d.debounceMs),
    temperature: num(c.temperature, 'temperature', 0, 5, d.temperature),
    fimMode: c.fimMode ?? d.fimMode,
    mergedCacheSize: Math.round(num(c.mergedCacheSize, 'mergedCacheSize', 1, 16, d.mergedCacheSize)),
    kvReuse: c.kvReuse ?? d.kvReuse,
  };
}

function isSettings(v: unknown): v is ServerSettings {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function optString(o: ServerSettings, key: 'storagePath' | 'baseModel'): void {
  if (o[key] !== undefined && o[key] !== null && typeof o[key] !== 'string') {
    throw new CodetuneError('USAGE', `${key} must be a string, got ${JSON.stringify(o[key])}`);
  }
}

/** Merge `initializationOptions` (any JSON) over command-line flags; bad values are refused. */
export function resolveSettings(init: unknown, flags: ServerSettings): ResolvedSettings {
  const o: ServerSettings = isSettings(init) ? init : {};
  optString(o, 'storagePath');
  optString(o, 'baseModel');
  if (o.completions !== undefined && !isSettings(o.completions)) {
    throw new CodetuneError('USAGE', 'completions must be an object');
  }
  const backend = o.backend ?? flags.backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(backend)) {
    throw new CodetuneError('USAGE', `backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(backend)}`);
  }
  return {
    storagePath: path.resolve(o.storagePath ?? flags.storagePath ?? defaultStoragePath()),
    baseModel: o.baseModel ?? flags.baseModel ?? null,
    backend,
    completions: completionConfig({ ...flags.completions, ...o.completions }),
    training: { ...flags.training, ...(isSettings(o.training) ? o.training : {}) },
  };
}
