// NL→code end to end: a LoRA adapter on the tiny base, trained on a one-file repo with a
// distinctive documented function, makes greedy completion from that function's doc
// comment and signature reproduce its body; the base alone does not.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadAdapter } from '../../server/adapters/peft';
import { buildDataset } from '../../server/data/index';
import { initBackend } from '../../server/model/backend';
import { loadModel } from '../../server/model/checkpoint';
import { generate } from '../../server/model/generate';
import { loraTerms } from '../../server/model/lora';
import { CodeTokenizer } from '../../server/model/tokenizer';
import { runTraining } from '../../server/train/trainer';
import { makeRepo } from '../data/helpers';
import { tempDir } from '../helpers';
import { tinyBase } from './fixtures';

const SOURCE = [
  'def zebra_checksum(data):',
  '    """Fold the bytes of data into a zebra checksum."""',
  '    acc = 7',
  '    for b in data:',
  '        acc = (acc * 31 + b) % 65521',
  '    return acc',
  '',
].join('\n');

describe('memorisation', () => {
  it('greedy completion from the doc comment and signature reproduces the trained body', async () => {
    await initBackend('wasm');
    const repo = makeRepo({ 'zebra.py': SOURCE });
    const tok = CodeTokenizer.fromDir(tinyBase());
    const ds = await buildDataset({ repo, tokenizer: tok, seqLen: 97, valFraction: 0, cacheDir: null });
    const pair = ds.examples.find((e) => e.type === 'pair');
    assert.ok(pair, 'the pipeline found the documented function');
    assert.match(pair.prompt, /def zebra_checksum\(data\):\n {4}"""Fold the bytes/);
    assert.equal(pair.completion, SOURCE.split('\n').slice(2).join('\n'));

    const out = path.join(tempDir(), 'zebra');
    await runTraining(
      { repo, model: tinyBase(), out, seqLen: 96, batchSize: 1, lr: 1e-2, minLrRatio: 1, warmupSteps: 2, maxSteps: 100, epochs: 1000, dropout: 0, weightDecay: 0, valFraction: 0, evaluate: false, cacheDir: null, backend: 'wasm' },
      { emit: () => undefined },
    );
    const model = loadModel(tinyBase());
    const complete = (): string => tok.decode(generate(model, tok.encode(pair.prompt), { maxNewTokens: 48, stopIds: tok.eosIds }));
    const before = complete();
    const adapter = loadAdapter(out, model);
    model.setLoraTerms(loraTerms([{ adapter, weight: 1 }]));
    const after = complete();
    assert.notEqual(before.trimEnd(), pair.completion.trimEnd());
    assert.equal(after.trimEnd(), pair.completion.trimEnd(), `generated ${JSON.stringify(after)}`);
    adapter.dispose();
    model.dispose();
  });
});
