// Shared CLI plumbing: typed flag parsing on node:util.parseArgs, usage errors,
// and JSON output. Every command module exports `Command`s built with these.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CodetuneError } from '../errors';
import { BACKEND_CHOICES, type BackendChoice } from '../protocol';

export interface Command {
  usage: string;
  summary: string;
  run(argv: string[]): Promise<void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parse flags strictly; unknown flags and stray positionals are usage errors (exit 2). */
export function parseFlags<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new CodetuneError('USAGE', `${(e as Error).message}\nusage: ${usage}`);
  }
}

export function usageError(message: string, usage: string): CodetuneError {
  return new CodetuneError('USAGE', `${message}\nusage: ${usage}`);
}

/** A required string flag. */
export function required(value: string | undefined, flag: string, usage: string): string {
  if (value === undefined || value === '') {
    throw usageError(`missing --${flag}`, usage);
  }
  return value;
}

/** Parse "3,1,4" into token ids. */
export function parseIds(text: string, usage: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const ids = parts.map(Number);
  if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) {
    throw usageError(`--ids must be comma-separated non-negative integers, got "${text}"`, usage);
  }
  return ids;
}

/** Parse a number flag with bounds. */
export function parseNumber(text: string | undefined, flag: string, usage: string, opts: { min?: number; max?: number; integer?: boolean; fallback?: number } = {}): number {
  if (text === undefined) {
    if (opts.fallback === undefined) {
      throw usageError(`missing --${flag}`, usage);
    }
    return opts.fallback;
  }
  const n = Number(text);
  const bad = !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max);
  if (bad) {
    throw usageError(`--${flag} must be ${opts.integer ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''}, got "${text}"`, usage);
  }
  return n;
}

/** `--backend`: one of BACKEND_CHOICES, or undefined when the flag is absent. */
export function parseBackendFlag(v: string | undefined, usage: string): BackendChoice | undefined {
  if (v === undefined) {
    return undefined;
  }
  const b = BACKEND_CHOICES.find((c) => c === v);
  if (!b) {
    throw usageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got "${v}"`, usage);
  }
  return b;
}

/**
 * Run `work` with Ctrl-C / SIGTERM routed to `onSignal` (cancel cleanly instead of dying
 * mid-write); the handlers are removed afterwards.
 */
export async function whileInterruptible<T>(onSignal: () => void, work: () => Promise<T>): Promise<T> {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One JSON object on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
