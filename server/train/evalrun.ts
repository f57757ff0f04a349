// `evaluate`: held-out metrics of the base and (optionally) base + adapter, on the same
// validation split the adapter was trained against (its codetune.json gives the seed,
// sequence length and split; flags override).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadAdapter } from '../adapters/peft';
import { initBackend, type BackendChoice } from '../model/backend';
import { loadModel } from '../model/checkpoint';
import { readModelConfig } from '../model/config';
import { loraTerms } from '../model/lora';
import { CodeTokenizer } from '../model/tokenizer';
import type { BackendReport, EvalMetrics } from '../protocol';
import { evaluateModel, type CompletionSample } from './evaluate';
import { resolveOptions } from './options';
import { loadDataset } from './setup';

export interface EvaluateOptions {
  repo: string;
  model: string;
  adapter?: string;
  seqLen?: number;
  seed?: number;
  valFraction?: number;
  batchSize?: number;
  maxValSequences?: number;
  maxPairs?: number;
  backend?: BackendChoice;
  cacheDir?: string | null;
}

export interface EvaluateResult {
  backend: BackendReport;
  base: EvalMetrics;
  adapter: EvalMetrics | null;
  samples: { base: CompletionSample[]; adapter: CompletionSample[] };
}

/** Settings the adapter was trained with, from its codetune.json (when there is one). */
function trainedWith(adapterDir: string | undefined): Record<string, unknown> {
  const file = adapterDir ? path.join(adapterDir, 'codetune.json') : null;
  if (!file || !fs.existsSync(file)) {
    return {};
  }
  try {
    return ((JSON.parse(fs.readFileSync(file, 'utf8')) as { hyperparameters?: Record<string, unknown> }).hyperparameters ?? {});
  } catch {
    return {};
  }
}

export async function evaluate(o: EvaluateOptions): Promise<EvaluateResult> {
  const hp = trainedWith(o.adapter);
  const num = (k: string): number | undefined => (typeof hp[k] === 'number' ? (hp[k] as number) : undefined);
  const r = resolveOptions({
    repo: o.repo,
    model: o.model,
    out: o.adapter ?? o.model,
    seqLen: o.seqLen ?? num('seqLen'),
    seed: o.seed ?? num('seed'),
    valFraction: o.valFraction ?? num('valFraction'),
    batchSize: o.batchSize ?? num('batchSize'),
    maxValSequences: o.maxValSequences,
    maxEvalPairs: o.maxPairs,
    backend: o.backend,
    cacheDir: o.cacheDir,
  });
  const backend = await initBackend(r.backend);
  const config = readModelConfig(r.model);
  const tok = CodeTokenizer.fromDir(r.model);
  const { dataset } = await loadDataset(r, tok, config);
  const model = loadModel(r.model);
  const adapter = o.adapter ? loadAdapter(o.adapter, model) : null;
  try {
    const inputs = { val: dataset.val, pairs: dataset.valPairs, batchSize: r.batchSize, maxValSequences: r.maxValSequences, maxPairs: r.maxEvalPairs };
    const base = evaluateModel(model, tok, inputs);
    let withAdapter: ReturnType<typeof evaluateModel> | null = null;
    if (adapter) {
      model.setLoraTerms(loraTerms([{ adapter, weight: 1 }]));
      withAdapter = evaluateModel(model, tok, inputs);
      model.setLoraTerms(new Map());
    }
    const strip = ({ samples: _s, ...m }: ReturnType<typeof evaluateModel>): EvalMetrics => m;
    return { backend, base: strip(base), adapter: withAdapter ? strip(withAdapter) : null, samples: { base: base.samples, adapter: withAdapter?.samples ?? [] } };
  } finally {
    adapter?.dispose();
    model.dispose();
  }
}
