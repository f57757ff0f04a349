// Smaller vocabularies from the Qwen byte-level BPE: keep the first N−k ids (the 256 byte
// symbols and the earliest merges, i.e. the most frequent pieces), keep only merges whose
// parts and result survive, and move the special tokens (end-of-text, FIM, chat) to the
// top k ids. The result is still a valid Hugging Face tokenizer.json for the same pre-tokenizer.
import { CodetuneError } from '../errors';

const KEPT_SPECIALS = ['<|endoftext|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>', '<|im_start|>', '<|im_end|>'];

type Json = Record<string, unknown>;
interface AddedToken { id: number; content: string; special?: boolean }

export interface TruncatedTokenizer {
  tokenizerJson: Json;
  tokenizerConfig: Json;
  vocabSize: number;
  eosId: number;
}

export function truncateTokenizer(tok: Json, vocab: number): TruncatedTokenizer {
  const model = tok.model as { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]> } | undefined;
  if (!model || model.type !== 'BPE' || !model.vocab || !Array.isArray(model.merges)) {
    throw new CodetuneError('TOKENIZER_INVALID', 'init-base needs a byte-level BPE tokenizer.json (like Qwen\'s)');
  }
  const added = (tok.added_tokens as AddedToken[] | undefined) ?? [];
  let full = 0;
  for (const id of Object.values(model.vocab)) {
    full = Math.max(full, id + 1);
  }
  for (const a of added) {
    full = Math.max(full, a.id + 1);
  }
  const specials = KEPT_SPECIALS.filter((s) => added.some((a) => a.content === s));
  if (!specials.includes('<|endoftext|>')) {
    throw new CodetuneError('TOKENIZER_INVALID', 'init-base needs a tokenizer with <|endoftext|>');
  }
  if (vocab >= full) {
    // The whole tokenizer; the embedding keeps the requested (padded) size.
    const eos = added.find((a) => a.content === '<|endoftext|>')!.id;
    return { tokenizerJson: tok, tokenizerConfig: tokenizerConfig(added.filter((a) => specials.includes(a.content))), vocabSize: vocab, eosId: eos };
  }
  const normal = vocab - specials.length;
  if (normal < 256) {
    throw new CodetuneError('USAGE', `--vocab ${vocab} is too small: the byte-level BPE needs 256 byte symbols plus ${specials.length} special tokens`);
  }
  const kept: Record<string, number> = {};
  for (const [piece, id] of Object.entries(model.vocab)) {
    if (id < normal) {
      kept[piece] = id;
    }
  }
  const merges = model.merges.filter((m) => {
    const [a, b] = Array.isArray(m) ? m : m.split(' ');
    return a in kept && b in kept && a + b in kept;
  });
  const newAdded = specials.map((content, i) => ({ ...added.find((a) => a.content === content)!, id: normal + i }));
  const tokenizerJson = { ...tok, added_tokens: newAdded, model: { ...model, vocab: kept, merges } };
  return { tokenizerJson, tokenizerConfig: tokenizerConfig(newAdded), vocabSize: vocab, eosId: normal };
}

function tokenizerConfig(added: AddedToken[]): Json {
  const decoder: Record<string, unknown> = {};
  for (const a of added) {
    decoder[String(a.id)] = { content: a.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  }
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    bos_token: null,
    clean_up_tokenization_spaces: false,
    eos_token: '<|endoftext|>',
    errors: 'replace',
    model_max_length: 32768,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
}
