// Held-out evaluation of a model (base, or base + adapter):
//  - mean next-token loss over the validation split's masked tokens, and its perplexity;
//  - on held-out NL→code pairs (doc comment + signature → body), greedy completion of the
//    body, scored as in CrossCodeEval/RepoBench: exact match of the first non-blank line
//    and edit similarity (1 − Levenshtein / max length) of the whole body.
import * as tf from '@tensorflow/tfjs-core';
import { distance } from 'fastest-levenshtein';
import type { Example, PackedSequence } from '../data/index';
import { generate } from '../model/generate';
import { nextTokenLoss, type CausalLM } from '../model/llama';
import type { CodeTokenizer } from '../model/tokenizer';
import type { EvalMetrics } from '../protocol';
import { disposeBatch, toBatch } from './batches';

/** Token-weighted mean loss over `seqs` (at most `max` of them), in batches. */
export function validationLoss(model: CausalLM, seqs: readonly PackedSequence[], batchSize: number, max = Infinity): number {
  const use = seqs.slice(0, Math.min(seqs.length, max));
  let sum = 0;
  let count = 0;
  for (let i = 0; i < use.length; i += batchSize) {
    const batch = toBatch(use.slice(i, i + batchSize));
    const loss = tf.tidy(() => nextTokenLoss(model.forward(batch.ids), batch.targets, batch.mask));
    sum += (loss.dataSync() as Float32Array)[0] * batch.tokens;
    count += batch.tokens;
    loss.dispose();
    disposeBatch(batch);
  }
  return count > 0 ? sum / count : NaN;
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim().length > 0) ?? '').trim();
}

/** 1 − Levenshtein(a, b) / max(|a|, |b|); 1 for two empty strings. */
export function editSimilarity(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  return n === 0 ? 1 : 1 - distance(a, b) / n;
}

export interface CompletionSample {
  path: string;
  prompt: string;
  expected: string;
  generated: string;
  exact: boolean;
  similarity: number;
}

/** Greedy completion of each pair's body, up to the expected body's token count (capped). */
export function completionScores(model: CausalLM, tok: CodeTokenizer, pairs: readonly Example[], maxPairs: number, maxNewTokens = 96): { exactMatch: number; editSimilarity: number; pairs: number; samples: CompletionSample[] } {
  const samples: CompletionSample[] = [];
  const ctxLimit = model.config.maxPositionEmbeddings;
  for (const p of pairs.slice(0, maxPairs)) {
    const prompt = tok.encode(p.prompt);
    const want = tok.encode(p.completion, { addBos: false }).length;
    const budget = Math.min(maxNewTokens, want + 4, ctxLimit - prompt.length);
    if (prompt.length === 0 || budget <= 0) {
      continue;
    }
    const ids = generate(model, prompt, { maxNewTokens: budget, stopIds: tok.eosIds });
    const generated = tok.decode(ids);
    samples.push({ path: p.path, prompt: p.prompt, expected: p.completion, generated, exact: firstLine(generated) === firstLine(p.completion) && firstLine(p.completion) !== '', similarity: editSimilarity(generated, p.completion) });
  }
  const n = samples.length;
  return {
    exactMatch: n ? samples.filter((s) => s.exact).length / n : NaN,
    editSimilarity: n ? samples.reduce((s, x) => s + x.similarity, 0) / n : NaN,
    pairs: n,
    samples,
  };
}

export interface EvalInputs {
  val: readonly PackedSequence[];
  pairs: readonly Example[];
  batchSize: number;
  maxValSequences: number;
  maxPairs: number;
}

/** Both halves of the evaluation for the model as it is configured now. */
export function evaluateModel(model: CausalLM, tok: CodeTokenizer, e: EvalInputs): EvalMetrics & { samples: CompletionSample[] } {
  const valLoss = validationLoss(model, e.val, e.batchSize, e.maxValSequences);
  const c = completionScores(model, tok, e.pairs, e.maxPairs);
  return { valLoss, perplexity: Math.exp(valLoss), exactMatch: c.exactMatch, editSimilarity: c.editSimilarity, pairs: c.pairs, samples: c.samples };
}
