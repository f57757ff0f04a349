// Shared fixtures of the trainer tests: a tiny base checkpoint (made once per test
// process) and small git repos with documented functions.
import * as path from 'node:path';
import { initBase, PRESETS } from '../../server/model/init';
import { makeRepo } from '../data/helpers';
import { tempDir } from '../helpers';

let base: string | null = null;

/** The `tiny` preset (~0.6M parameters), written once per process. */
export function tinyBase(): string {
  if (!base) {
    base = path.join(tempDir('codetune-train-base-'), 'tiny');
    initBase(base, PRESETS.tiny, { seed: 3 });
  }
  return base;
}

const NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];

/** A repo of distinct small Python modules, each with documented functions. */
export function smallRepo(files = 8): string {
  const out: Record<string, string> = {};
  for (let i = 0; i < files; i++) {
    const n = NAMES[i % NAMES.length] + (i >= NAMES.length ? String(i) : '');
    out[`pkg/${n}.py`] = [
      `"""Utilities of the ${n} module."""`,
      '',
      `def ${n}_scale(values, factor=${i + 2}):`,
      `    """Multiply every value by the ${n} factor."""`,
      `    return [v * factor for v in values]`,
      '',
      '',
      `def ${n}_total(items):`,
      `    """Sum the ${n} items, skipping None."""`,
      '    total = 0',
      '    for item in items:',
      '        if item is not None:',
      `            total += item + ${i}`,
      '    return total',
      '',
    ].join('\n');
  }
  return makeRepo(out);
}

/** Options for a fast run on the tiny base. */
export function quick(repo: string, out: string, extra: Record<string, unknown> = {}): Record<string, unknown> & { repo: string; model: string; out: string } {
  return { repo, model: tinyBase(), out, seqLen: 48, batchSize: 2, lr: 5e-3, warmupSteps: 2, maxSteps: 8, evalEvery: 4, checkpointEvery: 0, valFraction: 0.4, maxEvalPairs: 2, cacheDir: null, backend: 'wasm', ...extra };
}
