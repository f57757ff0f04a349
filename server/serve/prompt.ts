// Completion prompts: a file-path header (the same one the dataset puts before code),
// the text before the cursor and, when the tokenizer has FIM tokens and there is code
// after the cursor, the text after it, in the model family's fill-in-the-middle layout.
// A token budget is split between prefix and suffix; the prefix loses whole lines from
// its start, so the prompt start stays put while the user types (KV cache reuse).
import { languageOf, pathHeader } from '../data/languages';
import type { CodeTokenizer } from '../model/tokenizer';

export interface PromptOptions {
  maxPromptTokens: number;
  suffixShare: number;
  fimMode: 'psm' | 'spm';
}

export interface Prompt {
  ids: number[];
  /** `fim` with text after the cursor, else `prefix` (the NL→code and end-of-file case). */
  kind: 'fim' | 'prefix';
  prefixTokens: number;
  suffixTokens: number;
}

/** Roughly how many characters to look at per token before tokenizing (code is ~3–4). */
const CHARS_PER_TOKEN = 6;

/** The last lines of `text` whose tokens fit `budget`; drops whole lines from the start. */
function fitPrefix(tok: CodeTokenizer, text: string, budget: number): number[] {
  let start = Math.max(0, text.length - budget * CHARS_PER_TOKEN);
  if (start > 0) {
    start = text.indexOf('\n', start - 1) + 1 || start;
  }
  let ids = tok.encode(text.slice(start), { addBos: false });
  while (ids.length > budget && start < text.length) {
    // Drop the share of lines that is over budget (at least one line) and re-encode.
    const over = (ids.length - budget) / ids.length;
    const target = start + Math.max(1, Math.ceil((text.length - start) * over));
    const nl = text.indexOf('\n', target - 1);
    start = nl < 0 ? target : nl + 1;
    ids = tok.encode(text.slice(start), { addBos: false });
  }
  return ids.length > budget ? ids.slice(ids.length - budget) : ids;
}

/** The first lines of `text` within `budget` tokens (cut at the end, which matters least). */
function fitSuffix(tok: CodeTokenizer, text: string, budget: number): number[] {
  if (budget <= 0) {
    return [];
  }
  let end = Math.min(text.length, budget * CHARS_PER_TOKEN);
  if (end < text.length) {
    const nl = text.lastIndexOf('\n', end);
    end = nl > 0 ? nl + 1 : end;
  }
  return tok.encode(text.slice(0, end), { addBos: false }).slice(0, budget);
}

/** Path relative to the workspace folder when there is one, with forward slashes. */
export function buildPrompt(tok: CodeTokenizer, prefix: string, suffix: string, filePath: string | null, opts: PromptOptions): Prompt {
  const header = filePath ? pathHeader(filePath, languageOf(filePath, prefix.split('\n', 1)[0])) : '';
  const headerIds = header ? tok.encode(header, { addBos: false }) : [];
  const bos = tok.encode('', {});
  const useFim = tok.fim !== null && suffix.trim() !== '';
  const fixed = bos.length + headerIds.length + (useFim ? 3 : 0);
  const room = Math.max(8, opts.maxPromptTokens - fixed);
  if (!useFim) {
    const pre = fitPrefix(tok, prefix, room);
    return { ids: [...bos, ...headerIds, ...pre], kind: 'prefix', prefixTokens: pre.length, suffixTokens: 0 };
  }
  const sufIds = fitSuffix(tok, suffix, Math.floor(room * opts.suffixShare));
  const pre = fitPrefix(tok, prefix, room - sufIds.length);
  const ids = [...bos, ...tok.fimPrompt([...headerIds, ...pre], sufIds, opts.fimMode)];
  return { ids, kind: 'fim', prefixTokens: pre.length, suffixTokens: sufIds.length };
}
