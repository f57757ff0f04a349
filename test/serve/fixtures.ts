// Adapters for the serving tests, built in-process: a memorising LoRA adapter (trained
// with Adam until greedy decoding after the prompt reproduces the body), a random one,
// and one for a different base (for the mismatch refusal).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { saveAdapter } from '../../server/adapters/peft';
import { initBackend } from '../../server/model/backend';
import { loadModel } from '../../server/model/checkpoint';
import { generate } from '../../server/model/generate';
import { initBase, PRESETS } from '../../server/model/init';
import { nextTokenLoss } from '../../server/model/llama';
import { LoraAdapter, loraConfig, loraTerms } from '../../server/model/lora';
import { CodeTokenizer } from '../../server/model/tokenizer';
import { DEFAULT_COMPLETIONS } from '../../server/serve/config';
import { buildPrompt } from '../../server/serve/prompt';
import { tempDir } from '../helpers';

export interface Memorised {
  dir: string;
  steps: number;
}

/**
 * Train a LoRA adapter on one sequence: the server's prompt for `text` (cursor at the end,
 * file `filePath`) followed by `body` and EOS, with the loss on the body. Stops as soon as
 * greedy decoding reproduces the body exactly (checked every 10 steps).
 */
export async function memorisingAdapter(modelDir: string, text: string, filePath: string, body: string, outDir: string): Promise<Memorised> {
  await initBackend('wasm');
  const model = loadModel(modelDir);
  const tok = CodeTokenizer.fromDir(modelDir);
  const prompt = buildPrompt(tok, text, '', filePath, DEFAULT_COMPLETIONS).ids;
  const bodyIds = tok.encode(body, { addBos: false });
  const seq = [...prompt, ...bodyIds, tok.eosIds[0]];
  const n = seq.length - 1;
  const adapter = LoraAdapter.create(model, loraConfig({ r: 8, alpha: 16, dropout: 0 }), 7);
  model.setLoraTerms(loraTerms([{ adapter, weight: 1 }]));
  const ids = tf.tensor2d([seq.slice(0, n)], [1, n], 'int32');
  const targets = tf.tensor2d([seq.slice(1)], [1, n], 'int32');
  const mask = tf.tensor2d([seq.slice(1).map((_, t) => (t + 1 >= prompt.length ? 1 : 0))], [1, n]);
  const opt = tf.train.adam(0.02);
  let steps = 0;
  try {
    for (; steps < 400; steps++) {
      opt.minimize(() => nextTokenLoss(model.forward(ids), targets, mask), false, adapter.variables());
      if (steps % 10 === 9) {
        const out = generate(model, prompt, { maxNewTokens: bodyIds.length + 1, stopIds: tok.eosIds });
        if (out.length === bodyIds.length && out.every((id, i) => id === bodyIds[i])) {
          break;
        }
      }
    }
    if (steps >= 400) {
      throw new Error('the adapter did not memorise the body in 400 steps');
    }
    saveAdapter(adapter, outDir, modelDir, { 'codetune.json': JSON.stringify({ name: 'memorised', repo: 'test/repo', commit: 'abc123', metrics: { steps } }) });
  } finally {
    tf.dispose([ids, targets, mask]);
    opt.dispose();
    adapter.dispose();
    model.dispose();
  }
  return { dir: outDir, steps };
}

/** A LoRA adapter with random B (so it changes the model), saved for `modelDir`'s base. */
export async function randomAdapter(modelDir: string, outDir: string, seed = 3): Promise<string> {
  await initBackend('wasm');
  const model = loadModel(modelDir);
  const adapter = LoraAdapter.create(model, loraConfig({ r: 4, alpha: 8 }), seed);
  for (const [m, b] of adapter.B) {
    if (b instanceof tf.Variable) {
      b.assign(tf.randomNormal(b.shape, 0, 0.05, 'float32', seed + m.length));
    }
  }
  saveAdapter(adapter, outDir, modelDir);
  adapter.dispose();
  model.dispose();
  return outDir;
}

/** An adapter for a base with another hidden size: importing it must be refused. */
export async function foreignAdapter(outDir: string): Promise<string> {
  const other = path.join(tempDir('codetune-serve-other-'), 'base');
  initBase(other, { ...PRESETS.tiny, hidden: 32, heads: 2, kvHeads: 1, intermediate: 96 }, { seed: 2 });
  await randomAdapter(other, outDir, 5);
  fs.rmSync(path.dirname(other), { recursive: true, force: true });
  return outDir;
}
