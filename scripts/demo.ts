// `npm run demo`: the engine end to end on a fresh machine, headless.
// 1. init-base: a tiny random Llama checkpoint in Hugging Face format (Qwen tokenizer, 8192 ids)
// 2. a LoRA adapter in PEFT format (random B, standing in for a trained one until the trainer lands)
// 3. generate through the CLI: base, adapter merged, adapter unmerged (the same tokens), base again
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { saveAdapter } from '../server/adapters/peft';
import { initBackend } from '../server/model/backend';
import { loadModel } from '../server/model/checkpoint';
import { LoraAdapter, loraConfig } from '../server/model/lora';

const root = path.resolve(__dirname, '..');
const work = path.join(root, '.cache', 'demo');
const base = path.join(work, 'tiny-base');
const adapterDir = path.join(work, 'adapter');

function cli(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'codetune.js'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(r.status ?? 1);
  }
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function main(): Promise<void> {
  fs.mkdirSync(work, { recursive: true });
  const made = cli(['init-base', '--out', base, '--preset', 'tiny', '--seed', '1', '--force']);
  console.log(`1. init-base: ${made.parameters} parameters, ${made.bytes} bytes → ${path.relative(root, base)}`);

  const backend = await initBackend('auto');
  const model = loadModel(base);
  const adapter = LoraAdapter.create(model, loraConfig({ r: 8, alpha: 16, targetModules: 'all-linear' }), 2);
  for (const m of adapter.modules()) {
    (adapter.B.get(m) as tf.Variable).assign(tf.randomNormal(adapter.B.get(m)!.shape, 0, 0.2, 'float32', 3));
  }
  saveAdapter(adapter, adapterDir, base);
  console.log(`2. adapter: ${adapter.parameterCount()} LoRA parameters on ${adapter.modules().length} modules, PEFT format → ${path.relative(root, adapterDir)} (backend ${backend.backend})`);

  const prompt = 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n';
  const gen = (extra: string[]) => cli(['generate', '--model', base, '--prompt', prompt, '--max-new-tokens', '12', '--greedy', ...extra]);
  const rows: Array<[string, Record<string, unknown>]> = [
    ['base', gen([])],
    ['base + adapter (merged)', gen(['--adapter', adapterDir])],
    ['base + adapter (unmerged)', gen(['--adapter', adapterDir, '--no-merge'])],
    ['base + adapter × 0', gen(['--adapter', `${adapterDir}:0`])],
  ];
  console.log(`3. generate (greedy, 12 tokens) after ${JSON.stringify(prompt)}:`);
  for (const [label, r] of rows) {
    console.log(`   ${label.padEnd(26)} ${JSON.stringify(r.ids)}  ${JSON.stringify(r.text)}`);
  }
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  console.log(`   merged = unmerged: ${same(rows[1][1].ids, rows[2][1].ids)}; weight 0 = base: ${same(rows[3][1].ids, rows[0][1].ids)}`);
  console.log('(random weights: the text is noise; the trainer issue turns this into "train on this repo")');
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
