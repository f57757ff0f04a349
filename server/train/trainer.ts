// The training loop. Runs wherever it is called (the worker calls it; tests may call it
// in-thread): micro-batches with loss masks and LoRA dropout, gradient accumulation,
// global-norm clipping, AdamW with warmup + cosine, validation with early stopping that
// keeps the best weights, atomic checkpoints every N steps and on cancel, exact resume,
// and at the end the held-out evaluation and codetune.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CodetuneError } from '../errors';
import { loadModel } from '../model/checkpoint';
import { nextTokenLoss } from '../model/llama';
import type { EvalMetrics, TrainDone, TrainWorkerMessage } from '../protocol';
import { BatchStream, disposeBatch, dropoutSeed } from './batches';
import { evaluateModel, validationLoss, type CompletionSample } from './evaluate';
import { datasetSummary, metaJson, modelHash, repoInfo, type CodetuneMeta } from './metadata';
import { AdamW, clipByGlobalNorm, learningRate } from './optimizer';
import { hyperparameters, resolveOptions, type TrainOptions } from './options';
import { prepare, type Prepared } from './setup';
import { checkpointDir, hasCheckpoint, loadCheckpoint, saveCheckpoint, STATE_VERSION, type TrainState } from './state';

/** Default wall-clock cap on the wasm/cpu backends (30 minutes); --max-seconds overrides it. */
export const CPU_TIME_CAP_SEC = 1800;

export interface TrainHooks {
  emit(m: TrainWorkerMessage): void;
  /** Polled at every step boundary; true stops the run there (checkpoint kept, CANCELLED). */
  shouldStop?(): boolean;
  /** Called after every optimizer step (tests watch tf.memory() here). */
  afterStep?(step: number): void;
}

/** Run one training job to the end; resolves with the adapter folder and metrics. */
export async function runTraining(opts: TrainOptions, hooks: TrainHooks): Promise<TrainDone> {
  const r = resolveOptions(opts);
  const log = (message: string): void => hooks.emit({ type: 'log', message });
  const started = Date.now();
  const p = await prepare(r, log);
  const { model, trainables: tr, dataset: ds } = p;
  const opt = new AdamW(tr.vars, { beta1: r.beta1, beta2: r.beta2, eps: r.eps, weightDecay: r.weightDecay });
  try {
    const perStep = r.batchSize * r.gradAccum;
    const totalSteps = Math.max(1, Math.min(r.maxSteps ?? Infinity, Math.ceil((r.epochs * ds.train.length) / perStep)));
    const ckDir = checkpointDir(r.out);
    const hp = hyperparameters(r);
    const stream = new BatchStream(ds.train, r.batchSize, r.seed);
    let st: TrainState = { version: STATE_VERSION, step: 0, totalSteps, cursor: 0, rng: { seed: r.seed, step: 0, epoch: 0 }, history: [], bestValLoss: null, bestStep: null, badEvals: 0, tokensSeen: 0, elapsedSec: 0, hyperparameters: hp, datasetFingerprint: p.fingerprint };
    let best: Float32Array[] | null = null;
    if (r.resume && hasCheckpoint(ckDir)) {
      const ck = loadCheckpoint(ckDir, tr.names);
      if (JSON.stringify(ck.state.hyperparameters) !== JSON.stringify(hp)) {
        throw new CodetuneError('CHECKPOINT_MISMATCH', `${ckDir}: the checkpoint was made with other settings (${JSON.stringify(ck.state.hyperparameters)}); resume with the same flags or start without --resume`, { file: ckDir });
      }
      if (ck.state.datasetFingerprint !== p.fingerprint) {
        throw new CodetuneError('CHECKPOINT_MISMATCH', `${ckDir}: the repo's training data changed since the checkpoint; start without --resume`, { file: ckDir });
      }
      tf.tidy(() => tr.vars.forEach((v, i) => v.assign(tf.tensor(ck.weights.get(tr.names[i])!, v.shape))));
      opt.load(ck.opt);
      st = ck.state;
      stream.cursor = st.cursor;
      best = ck.best;
      log(`resumed from ${ckDir} at step ${st.step}/${totalSteps}`);
    } else if (r.resume) {
      log(`no checkpoint at ${ckDir}; starting from step 0`);
    }

    const snapshot = (): Float32Array[] => tr.vars.map((v) => (v.dataSync() as Float32Array).slice());
    const checkpoint = (): void => {
      st.cursor = stream.cursor;
      st.rng = { seed: r.seed, step: st.step, epoch: Math.floor(stream.epoch) };
      saveCheckpoint(ckDir, st, tr.vars, tr.names, opt.state(), best, tr.kind === 'lora' ? (d) => tr.save(d, {}) : undefined);
    };
    const validate = (): number | undefined => {
      if (ds.val.length === 0) {
        return undefined;
      }
      const v = validationLoss(model, ds.val, r.batchSize, r.maxValSequences);
      if (st.bestValLoss === null || v < st.bestValLoss - 1e-6) {
        st.bestValLoss = v;
        st.bestStep = st.step;
        st.badEvals = 0;
        best = snapshot();
        tr.save(r.out, {}); // the best adapter so far is always on disk
      } else {
        st.badEvals += 1;
      }
      return v;
    };

    // On CPU backends a run is capped by wall-clock time unless the caller chose a cap.
    const maxSeconds = r.maxSeconds ?? (p.backend.backend === 'tensorflow' ? undefined : CPU_TIME_CAP_SEC);
    const sessionStart = performance.now();
    const sessionStep0 = st.step;
    let sessionTokens = 0;
    let stoppedEarly = false;
    while (st.step < totalSteps) {
      if (hooks.shouldStop?.()) {
        st.elapsedSec += (performance.now() - sessionStart) / 1000;
        checkpoint();
        throw new CodetuneError('CANCELLED', `training cancelled at step ${st.step}/${totalSteps}; checkpoint kept in ${ckDir} (continue with --resume)`, { file: ckDir });
      }
      const step = st.step + 1;
      const lr = learningRate(step, totalSteps, r.lr, Math.min(r.warmupSteps, Math.floor(totalSteps / 2)), r.minLrRatio);
      const { loss, tokens } = trainStep(p, opt, stream, step, lr, r.gradAccum, r.maxGradNorm, r.seed);
      st.step = step;
      st.tokensSeen += tokens;
      sessionTokens += tokens;
      const entry: TrainState['history'][number] = { step, loss, lr };
      if ((r.evalEvery > 0 && step % r.evalEvery === 0) || step === totalSteps) {
        entry.valLoss = validate();
        stoppedEarly = r.patience > 0 && st.badEvals >= r.patience && step < totalSteps;
      }
      st.history.push(entry);
      const secs = (performance.now() - sessionStart) / 1000;
      const rate = (step - sessionStep0) / secs;
      hooks.emit({
        type: 'progress',
        progress: { step, totalSteps, epoch: stream.epoch, loss, valLoss: entry.valLoss, lr, tokensPerSec: sessionTokens / secs, etaSec: (totalSteps - step) / rate, memoryBytes: tf.memory().numBytes },
      });
      if (r.checkpointEvery > 0 && step % r.checkpointEvery === 0 && step < totalSteps) {
        st.elapsedSec += secs;
        checkpoint();
        st.elapsedSec -= secs;
      }
      hooks.afterStep?.(step);
      if (stoppedEarly || (maxSeconds !== undefined && st.elapsedSec + secs >= maxSeconds)) {
        if (stoppedEarly) {
          log(`early stop at step ${step}: no validation improvement in ${st.badEvals} evaluations (best ${st.bestValLoss?.toFixed(4)} at step ${st.bestStep})`);
        } else if (ds.val.length > 0 && entry.valLoss === undefined) {
          entry.valLoss = validate();
        }
        break;
      }
      await new Promise((res) => setImmediate(res)); // let the worker read a cancel message
    }
    st.elapsedSec += (performance.now() - sessionStart) / 1000;

    // The product is the best weights by validation loss (the last ones without a val split).
    if (best) {
      const b = best;
      tf.tidy(() => tr.vars.forEach((v, i) => v.assign(tf.tensor(b[i], v.shape))));
    }
    let base: (EvalMetrics & { samples: CompletionSample[] }) | null = null;
    let adapter: (EvalMetrics & { samples: CompletionSample[] }) | null = null;
    if (r.evaluate) {
      log('evaluating base and trained model on the held-out split');
      const inputs = { val: ds.val, pairs: ds.valPairs, batchSize: r.batchSize, maxValSequences: r.maxValSequences, maxPairs: r.maxEvalPairs };
      if (tr.kind === 'lora') {
        tr.useTrained(true); // no dropout
        adapter = evaluateModel(model, p.tok, inputs);
        tr.useTrained(false);
        base = evaluateModel(model, p.tok, inputs);
      } else {
        adapter = evaluateModel(model, p.tok, inputs);
        const baseModel = loadModel(r.model);
        base = evaluateModel(baseModel, p.tok, inputs);
        baseModel.dispose();
      }
      tr.useTrained(true, true);
    }
    const strip = (m: typeof base): EvalMetrics | null => (m ? { valLoss: m.valLoss, perplexity: m.perplexity, exactMatch: m.exactMatch, editSimilarity: m.editSimilarity, pairs: m.pairs } : null);
    const finalTrainLoss = st.history.at(-1)?.loss ?? null;
    const meta: CodetuneMeta = {
      format: 'codetune-adapter',
      version: 1,
      kind: tr.kind,
      createdAt: new Date().toISOString(),
      repo: await repoInfo(ds.stats.repo, ds.stats.commit),
      baseModel: { path: path.resolve(r.model), hash: modelHash(r.model) },
      dataset: datasetSummary(ds.stats),
      hyperparameters: hp,
      backend: p.backend,
      durationSec: st.elapsedSec,
      steps: st.step,
      trainableParameters: tr.parameterCount,
      stoppedEarly,
      bestStep: st.bestStep,
      metrics: { base: strip(base), adapter: strip(adapter), bestValLoss: st.bestValLoss, finalTrainLoss },
    };
    tr.save(r.out, { 'codetune.json': metaJson(meta) });
    fs.rmSync(ckDir, { recursive: true, force: true });
    log(`saved ${tr.kind === 'lora' ? 'adapter' : 'model'} to ${r.out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return {
      adapterDir: path.resolve(r.out),
      metrics: { ...meta.metrics, steps: st.step, stoppedEarly, bestStep: st.bestStep, durationSec: st.elapsedSec, trainableParameters: tr.parameterCount, backend: p.backend.backend, samples: { base: base?.samples.slice(0, 3) ?? [], adapter: adapter?.samples.slice(0, 3) ?? [] } },
    };
  } finally {
    opt.dispose();
    tr.dispose();
    model.dispose();
  }
}

/** One optimizer step over `accum` micro-batches; every tensor it makes is freed. */
export function trainStep(p: Prepared, opt: AdamW, stream: BatchStream, step: number, lr: number, accum: number, maxNorm: number, seed: number): { loss: number; tokens: number } {
  const { model, trainables: tr } = p;
  let acc: tf.Tensor[] | null = null;
  let lossSum = 0;
  let tokens = 0;
  for (let micro = 0; micro < accum; micro++) {
    const batch = stream.next();
    const f = (): tf.Scalar => nextTokenLoss(model.forward(batch.ids, { training: true, seed: dropoutSeed(seed, step, micro) }), batch.targets, batch.mask);
    const { value, grads } = tf.variableGrads(f, tr.vars);
    lossSum += (value.dataSync() as Float32Array)[0];
    tokens += batch.ids.size;
    value.dispose();
    disposeBatch(batch);
    const g = tr.vars.map((v) => grads[v.name]);
    const prev: tf.Tensor[] | null = acc;
    acc = tf.tidy(() => g.map((x, i) => (prev ? tf.add(prev[i], tf.mul(x, 1 / accum)) : tf.mul(x, 1 / accum))));
    tf.dispose(g);
    if (prev) {
      tf.dispose(prev);
    }
  }
  const clipped = clipByGlobalNorm(acc!, maxNorm);
  tf.dispose(acc!);
  opt.apply(clipped.grads, lr);
  tf.dispose(clipped.grads);
  return { loss: lossSum / accum, tokens };
}
