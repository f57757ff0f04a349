// Engine commands: init-base, logits, generate. JSON on stdout; contracts in README.
import * as path from 'node:path';
import { loadAdapter } from '../adapters/peft';
import { CodetuneError } from '../errors';
import { initBackend, type BackendChoice } from '../model/backend';
import { resolveModel } from '../hub/resolve';
import { loadModel } from '../model/checkpoint';
import { generate } from '../model/generate';
import { PRESETS, initBase, type BaseSpec } from '../model/init';
import type { CausalLM } from '../model/llama';
import { loraTerms, type WeightedAdapter } from '../model/lora';
import { mergeAdapters } from '../model/merge';
import { CodeTokenizer } from '../model/tokenizer';
import type { BackendReport } from '../protocol';
import { parseBackendFlag, parseFlags, parseIds, parseNumber, printJson, required, usageError, type Command } from './args';

/** "DIR" or "DIR:WEIGHT" (the weight is the part after the last colon, when numeric). */
export function parseAdapterArg(arg: string, usage: string): { dir: string; weight: number } {
  const i = arg.lastIndexOf(':');
  if (i > 0 && /^-?\d*\.?\d+(e-?\d+)?$/i.test(arg.slice(i + 1))) {
    return { dir: arg.slice(0, i), weight: Number(arg.slice(i + 1)) };
  }
  if (arg === '') {
    throw usageError('--adapter needs a folder', usage);
  }
  return { dir: arg, weight: 1 };
}


export interface OpenedModel {
  /** The model folder (a hub id resolved to its cached snapshot). */
  dir: string;
  model: CausalLM;
  backend: BackendReport;
  adapters: WeightedAdapter[];
}

/** Backend + base (a folder or hub id) + adapters (merged into serving weights, or unmerged LoRA terms). */
export async function openModel(ref: string, adapterArgs: string[], opts: { backend: BackendChoice; merge: boolean; usage: string }): Promise<OpenedModel> {
  const backend = await initBackend(opts.backend);
  const { dir } = await resolveModel(ref);
  const model = loadModel(dir, { onMemoryWarning: (m) => process.stderr.write(`codetune: warning: ${m}\n`) });
  const adapters = adapterArgs.map((a) => {
    const { dir: adir, weight } = parseAdapterArg(a, opts.usage);
    return { adapter: loadAdapter(adir, model), weight };
  });
  if (adapters.length > 0) {
    if (opts.merge) {
      model.setMergedWeights(mergeAdapters(model, adapters));
    } else {
      model.setLoraTerms(loraTerms(adapters));
    }
  }
  return { dir, model, backend, adapters };
}

function checkIds(ids: number[], model: CausalLM): void {
  const bad = ids.find((id) => id >= model.config.vocabSize);
  if (bad !== undefined) {
    throw new CodetuneError('USAGE', `token id ${bad} is out of range for this model's vocabulary (${model.config.vocabSize})`);
  }
}

const LOGITS_USAGE = 'codetune logits --model DIR|ID[@REV] [--adapter DIR[:WEIGHT]]... [--no-merge] --ids 3,1,4 [--all] [--backend auto|tensorflow|wasm|cpu]';
export const logits: Command = {
  usage: LOGITS_USAGE,
  summary: 'Print the logits of a token sequence as JSON: {"backend", "last_logits", "all_logits"?}.',
  async run(argv) {
    const f = parseFlags(argv, { model: { type: 'string' }, adapter: { type: 'string', multiple: true }, 'no-merge': { type: 'boolean' }, ids: { type: 'string' }, all: { type: 'boolean' }, backend: { type: 'string' } }, LOGITS_USAGE);
    const ids = parseIds(required(f.ids, 'ids', LOGITS_USAGE), LOGITS_USAGE);
    const modelDir = required(f.model, 'model', LOGITS_USAGE);
    const { model, backend } = await openModel(modelDir, f.adapter ?? [], { backend: parseBackendFlag(f.backend, LOGITS_USAGE) ?? 'auto', merge: !f['no-merge'], usage: LOGITS_USAGE });
    checkIds(ids, model);
    const rows = model.logits(ids, f.all === true).map((r) => Array.from(r));
    printJson({ backend: backend.backend, backend_skipped: backend.skipped, last_logits: rows[rows.length - 1], ...(f.all ? { all_logits: rows } : {}) });
  },
};

const GENERATE_USAGE = 'codetune generate --model DIR|ID[@REV] [--adapter DIR[:WEIGHT]]... [--no-merge] (--ids 3,1,4 | --prompt TEXT) --max-new-tokens N [--greedy | --temperature T --top-p P --seed S] [--backend B]';
export const generateCmd: Command = {
  usage: GENERATE_USAGE,
  summary: 'Generate tokens after a prompt; prints {"backend", "ids", "text"?} with the new tokens only.',
  async run(argv) {
    const f = parseFlags(argv, {
      model: { type: 'string' }, adapter: { type: 'string', multiple: true }, 'no-merge': { type: 'boolean' }, ids: { type: 'string' }, prompt: { type: 'string' },
      'max-new-tokens': { type: 'string' }, greedy: { type: 'boolean' }, temperature: { type: 'string' }, 'top-p': { type: 'string' }, seed: { type: 'string' }, backend: { type: 'string' },
    }, GENERATE_USAGE);
    if ((f.ids === undefined) === (f.prompt === undefined)) {
      throw usageError('give exactly one of --ids or --prompt', GENERATE_USAGE);
    }
    if (f.greedy && (f.temperature !== undefined || f['top-p'] !== undefined)) {
      throw usageError('--greedy cannot be combined with --temperature/--top-p', GENERATE_USAGE);
    }
    const maxNewTokens = parseNumber(f['max-new-tokens'], 'max-new-tokens', GENERATE_USAGE, { integer: true, min: 1 });
    const temperature = f.greedy ? 0 : parseNumber(f.temperature, 'temperature', GENERATE_USAGE, { min: 0, fallback: 0 });
    const topP = parseNumber(f['top-p'], 'top-p', GENERATE_USAGE, { min: 0, max: 1, fallback: 1 });
    const seed = parseNumber(f.seed, 'seed', GENERATE_USAGE, { integer: true, min: 0, fallback: 0 });
    const modelDir = required(f.model, 'model', GENERATE_USAGE);
    const ids = f.ids !== undefined ? parseIds(f.ids, GENERATE_USAGE) : null;
    const { dir, model, backend } = await openModel(modelDir, f.adapter ?? [], { backend: parseBackendFlag(f.backend, GENERATE_USAGE) ?? 'auto', merge: !f['no-merge'], usage: GENERATE_USAGE });
    const tokenizer = ids === null || f.prompt !== undefined ? CodeTokenizer.fromDir(dir) : null;
    const prompt = ids ?? tokenizer!.encode(f.prompt!);
    if (prompt.length === 0) {
      throw usageError('the prompt is empty', GENERATE_USAGE);
    }
    checkIds(prompt, model);
    const stopIds = tokenizer ? tokenizer.eosIds : model.config.eosTokenIds;
    const out = generate(model, prompt, { maxNewTokens, temperature, topP, seed, stopIds: ids ? [] : stopIds });
    printJson({ backend: backend.backend, backend_skipped: backend.skipped, ids: out, ...(tokenizer ? { text: tokenizer.decode(out) } : {}) });
  },
};

const INIT_USAGE = 'codetune init-base --out DIR [--preset tiny|bench-small] [--arch llama|qwen2] [--vocab N] [--hidden N] [--layers N] [--heads N] [--kv-heads N] [--intermediate N] [--tie|--no-tie] [--seed S] [--tokenizer FILE] [--force]';
export const initBaseCmd: Command = {
  usage: INIT_USAGE,
  summary: 'Write a random-initialised checkpoint in Hugging Face format (config.json, model.safetensors, tokenizer files).',
  async run(argv) {
    const f = parseFlags(argv, {
      out: { type: 'string' }, preset: { type: 'string' }, arch: { type: 'string' }, vocab: { type: 'string' }, hidden: { type: 'string' }, layers: { type: 'string' }, heads: { type: 'string' },
      'kv-heads': { type: 'string' }, intermediate: { type: 'string' }, tie: { type: 'boolean' }, 'no-tie': { type: 'boolean' }, seed: { type: 'string' }, tokenizer: { type: 'string' }, force: { type: 'boolean' },
    }, INIT_USAGE);
    const presetName = f.preset ?? 'tiny';
    if (!(presetName in PRESETS)) {
      throw usageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`, INIT_USAGE);
    }
    const p = PRESETS[presetName as keyof typeof PRESETS];
    if (f.arch !== undefined && f.arch !== 'llama' && f.arch !== 'qwen2') {
      throw usageError('--arch must be llama or qwen2', INIT_USAGE);
    }
    const n = (v: string | undefined, flag: string, fallback: number) => parseNumber(v, flag, INIT_USAGE, { integer: true, min: 1, fallback });
    const spec: BaseSpec = {
      ...p,
      arch: (f.arch as BaseSpec['arch'] | undefined) ?? p.arch,
      vocab: n(f.vocab, 'vocab', p.vocab),
      hidden: n(f.hidden, 'hidden', p.hidden),
      layers: n(f.layers, 'layers', p.layers),
      heads: n(f.heads, 'heads', p.heads),
      kvHeads: n(f['kv-heads'], 'kv-heads', p.kvHeads),
      intermediate: n(f.intermediate, 'intermediate', p.intermediate),
      tie: f.tie ? true : f['no-tie'] ? false : p.tie,
    };
    if (spec.hidden % spec.heads !== 0 || spec.heads % spec.kvHeads !== 0 || (spec.hidden / spec.heads) % 2 !== 0) {
      throw usageError('--hidden must be a multiple of --heads (with an even head size), and --heads a multiple of --kv-heads', INIT_USAGE);
    }
    const out = path.resolve(required(f.out, 'out', INIT_USAGE));
    const r = initBase(out, spec, { seed: parseNumber(f.seed, 'seed', INIT_USAGE, { integer: true, min: 0, fallback: 0 }), tokenizerFile: f.tokenizer, force: f.force === true });
    printJson({ dir: r.dir, model_type: r.config.modelType, parameters: r.parameters, bytes: r.bytes, vocab_size: r.config.vocabSize });
  },
};
