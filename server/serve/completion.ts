// One completion at a position: position → offset (checked), prompt, context, decode.
// Shared by the language server and the one-shot `codetune complete`.
import { CodetuneError } from '../errors';
import type { CompletionConfig } from './config';
import { StaleRequest, type CompletionEngine, type DecodeResult } from './engine';
import { buildPrompt, type Prompt } from './prompt';
import { cursorContext } from './stop';

export interface Position {
  line: number;
  character: number;
}

/** Offset of an LSP position (UTF-16 code units) in `text`; out of range is a USAGE error. */
export function offsetOf(text: string, pos: Position): number {
  if (!pos || !Number.isInteger(pos.line) || !Number.isInteger(pos.character) || pos.line < 0 || pos.character < 0) {
    throw new CodetuneError('USAGE', `invalid position ${JSON.stringify(pos)}: line and character must be non-negative integers`);
  }
  let start = 0;
  for (let l = 0; l < pos.line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      throw new CodetuneError('USAGE', `position ${pos.line}:${pos.character} is out of range: the document has ${l + 1} lines`);
    }
    start = nl + 1;
  }
  let end = text.indexOf('\n', start);
  end = end < 0 ? text.length : end;
  if (end > start && text[end - 1] === '\r') {
    end -= 1;
  }
  if (pos.character > end - start) {
    throw new CodetuneError('USAGE', `position ${pos.line}:${pos.character} is out of range: line ${pos.line} has ${end - start} characters`);
  }
  return start + pos.character;
}

export interface CompletionOutcome extends DecodeResult {
  prompt: Pick<Prompt, 'kind' | 'prefixTokens' | 'suffixTokens'> & { tokens: number };
  multiline: boolean;
}

/** Complete `text` at `offset`; throws StaleRequest when `isStale` turns true on the way. */
export async function completeAt(
  engine: CompletionEngine,
  cfg: CompletionConfig,
  doc: { text: string; offset: number; filePath: string | null },
  opts: { isStale: () => boolean; activate?: () => string },
): Promise<CompletionOutcome> {
  const prefix = doc.text.slice(0, doc.offset);
  const suffix = doc.text.slice(doc.offset);
  const ctx = cursorContext(prefix, suffix);
  const prompt = buildPrompt(engine.tokenizer, prefix, suffix, doc.filePath, cfg);
  if (prompt.ids.length === 0) {
    // An empty file without a path: nothing to condition on.
    if (opts.isStale()) {
      throw new StaleRequest();
    }
    return { text: null, raw: '', tokens: 0, reused: 0, prefilled: 0, ttftMs: 0, totalMs: 0, stop: 'eos', prompt: { kind: prompt.kind, prefixTokens: 0, suffixTokens: 0, tokens: 0 }, multiline: ctx.multiline };
  }
  const r = await engine.complete({
    prompt: prompt.ids,
    ctx,
    maxTokens: ctx.multiline ? cfg.maxTokens : cfg.maxSingleLineTokens,
    temperature: cfg.temperature,
    isStale: opts.isStale,
    activate: opts.activate,
  });
  return { ...r, prompt: { kind: prompt.kind, prefixTokens: prompt.prefixTokens, suffixTokens: prompt.suffixTokens, tokens: prompt.ids.length }, multiline: ctx.multiline };
}
