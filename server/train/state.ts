// Training checkpoints: everything a run needs to continue exactly where it stopped.
// One folder beside the adapter (`<out>.checkpoint/`), written staged and renamed into
// place, so a crash leaves either the previous checkpoint or the new one, never half:
//   state.json             step, data cursor, RNG counters, history, best loss, settings
//   trainable.safetensors  the trained tensors (LoRA A/B, or every base weight with --full)
//   optimizer.safetensors  AdamW moments m.<i> / v.<i>, in variable order
//   best.safetensors       the best weights by validation loss so far (when validated)
//   adapter/               with LoRA, the current adapter in PEFT format (loadable as is)
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { CodetuneError, fromFsError } from '../errors';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../model/safetensors';
import { writeDirAtomic, writeFileAtomic } from '../util/atomic';
import type { AdamWState } from './optimizer';

export const STATE_VERSION = 1;

export interface TrainState {
  version: number;
  /** Optimizer steps completed. */
  step: number;
  totalSteps: number;
  /** Data cursor: sequences consumed. */
  cursor: number;
  /** The random state is counter-based: dropout masks from (seed, step), data order from (seed, epoch). */
  rng: { seed: number; step: number; epoch: number };
  /** Loss of every completed step (1-based steps). */
  history: Array<{ step: number; loss: number; lr: number; valLoss?: number }>;
  bestValLoss: number | null;
  bestStep: number | null;
  badEvals: number;
  tokensSeen: number;
  elapsedSec: number;
  hyperparameters: Record<string, unknown>;
  /** Identifies the dataset (tokenizer, sequences) the run trains on. */
  datasetFingerprint: string;
}

export function checkpointDir(out: string): string {
  return `${path.resolve(out)}.checkpoint`;
}

/** Write the checkpoint atomically; `writeAdapter` adds the PEFT copy into the staged folder. */
export function saveCheckpoint(dir: string, state: TrainState, vars: readonly tf.Variable[], names: readonly string[], opt: AdamWState, best: Float32Array[] | null, writeAdapter?: (stagedAdapterDir: string) => void): void {
  writeDirAtomic(dir, (staged) => {
    const weights: Record<string, TensorToWrite> = {};
    vars.forEach((v, i) => {
      weights[names[i]] = { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array };
    });
    writeSafetensors(path.join(staged, 'trainable.safetensors'), weights);
    const moments: Record<string, TensorToWrite> = {};
    vars.forEach((v, i) => {
      moments[`m.${i}`] = { dtype: 'F32', shape: v.shape, data: opt.m[i] };
      moments[`v.${i}`] = { dtype: 'F32', shape: v.shape, data: opt.v[i] };
    });
    writeSafetensors(path.join(staged, 'optimizer.safetensors'), moments, { step: String(opt.step) });
    if (best) {
      const b: Record<string, TensorToWrite> = {};
      vars.forEach((v, i) => {
        b[names[i]] = { dtype: 'F32', shape: v.shape, data: best[i] };
      });
      writeSafetensors(path.join(staged, 'best.safetensors'), b);
    }
    writeAdapter?.(path.join(staged, 'adapter'));
    writeFileAtomic(path.join(staged, 'state.json'), JSON.stringify(state) + '\n');
  });
}

export interface LoadedCheckpoint {
  state: TrainState;
  /** Trained tensors by name. */
  weights: Map<string, Float32Array>;
  opt: AdamWState;
  /** The best weights by validation loss so far, when there was a validation. */
  best: Float32Array[] | null;
}

export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'state.json'));
}

export function loadCheckpoint(dir: string, names: readonly string[]): LoadedCheckpoint {
  const stateFile = path.join(dir, 'state.json');
  let state: TrainState;
  try {
    state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as TrainState;
  } catch (e) {
    throw e instanceof SyntaxError ? new CodetuneError('CHECKPOINT_INVALID', `${stateFile}: not valid JSON`, { file: stateFile }) : fromFsError(e, stateFile);
  }
  if (state.version !== STATE_VERSION) {
    throw new CodetuneError('CHECKPOINT_INVALID', `${stateFile}: checkpoint version ${state.version} is not ${STATE_VERSION}; start without --resume`, { file: stateFile });
  }
  const w = SafetensorsFile.open(path.join(dir, 'trainable.safetensors'));
  const o = SafetensorsFile.open(path.join(dir, 'optimizer.safetensors'));
  const weights = new Map<string, Float32Array>();
  const m: Float32Array[] = [];
  const v: Float32Array[] = [];
  names.forEach((name, i) => {
    if (!w.names.includes(name)) {
      throw new CodetuneError('CHECKPOINT_INVALID', `${dir}: checkpoint has no tensor "${name}"; it was made with other settings (start without --resume)`, { file: dir, tensor: name });
    }
    weights.set(name, w.read(name).data as Float32Array);
    m.push(o.read(`m.${i}`).data as Float32Array);
    v.push(o.read(`v.${i}`).data as Float32Array);
  });
  const bestFile = path.join(dir, 'best.safetensors');
  const bf = fs.existsSync(bestFile) ? SafetensorsFile.open(bestFile) : null;
  const best = bf ? names.map((n) => bf.read(n).data as Float32Array) : null;
  return { state, weights, opt: { step: Number(o.metadata.step ?? state.step), m, v }, best };
}
