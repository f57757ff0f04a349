// Line-based extractors: comment->block pairs for every language, and a fallback
// NL->code extractor for brace languages that have no tree-sitter grammar here
// (Kotlin, Swift, Scala, Dart, PHP, ...). The stats name the languages that used it.
import type { RawPair } from './types';
import { bodyLines, countTokens, firstParagraph, renderComment, skipName, stripMarkers, styleOf } from './doccomment';

const indentOf = (l: string): number => l.length - l.trimStart().length;

/**
 * Comment->block pairs: a run of at most 3 full-line `//` or `#` comments (not doc
 * comments, not a license) followed directly by code at the same indentation; the
 * block runs to the first blank line or dedent (at most 30 lines, at least 2).
 */
export function commentBlocks(text: string, marker: string | undefined, header: string): RawPair[] {
  if (marker !== '//' && marker !== '#' && marker !== '--') {
    return [];
  }
  const lines = text.split('\n');
  const out: RawPair[] = [];
  const isComment = (l: string): boolean => {
    const t = l.trimStart();
    return t.startsWith(marker) && !t.startsWith(marker === '//' ? '///' : '#!') && !(marker === '#' && /^#\s*(include|define|if|ifdef|ifndef|endif|pragma|region|endregion)\b/.test(t));
  };
  for (let i = 0; i < lines.length; i++) {
    if (!isComment(lines[i]) || (i > 0 && isComment(lines[i - 1]))) {
      continue;
    }
    let j = i;
    while (j < lines.length && isComment(lines[j])) {
      j++;
    }
    const runLen = j - i;
    const ind = indentOf(lines[i]);
    if (runLen > 3 || j >= lines.length || lines[j].trim() === '' || indentOf(lines[j]) !== ind) {
      continue;
    }
    const comment = lines.slice(i, j).join('\n');
    const words = stripMarkers(comment);
    if (countTokens(words) < 3 || /copyright|license|eslint|noqa|type:\s*ignore|prettier-ignore|TODO|FIXME/i.test(comment)) {
      continue;
    }
    let k = j;
    while (k < lines.length && k - j < 30 && lines[k].trim() !== '' && indentOf(lines[k]) >= ind && !isComment(lines[k])) {
      k++;
    }
    if (k - j < 2) {
      continue;
    }
    const strip = (l: string): string => l.slice(Math.min(ind, indentOf(l)));
    out.push({
      name: '',
      prompt: `${header}${lines.slice(i, j).map(strip).join('\n')}\n`,
      completion: `${lines.slice(j, k).map(strip).join('\n')}\n`,
    });
    i = k - 1;
  }
  return out;
}

/** Index just past the brace that closes the one at `open` (strings and comments ignored: a heuristic). */
function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '{') {
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) {
        return i + 1;
      }
    }
  }
  return -1;
}

/** Fallback NL->code pairs for brace languages: a doc comment, a signature line, a `{...}` body. */
export function heuristicPairs(text: string, header: string): RawPair[] {
  const out: RawPair[] = [];
  const re = /^([ \t]*)(\/\*\*[\s\S]*?\*\/|(?:[ \t]*\/\/\/?[^\n]*\n?)+)\n?([ \t]*)([^\n{};]*\([^\n{;]*\)[^\n{;]*|[^\n{};]*\b(?:class|struct|interface|object|trait|enum)\b[^\n{;]*)\{/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const [, ind, rawDoc, sigInd, sig] = m;
    if (sigInd !== ind || /copyright|license/i.test(rawDoc)) {
      continue;
    }
    const doc = firstParagraph(stripMarkers(rawDoc.trim()));
    const open = m.index + m[0].length - 1;
    const close = matchBrace(text, open);
    const name = /(\w+)\s*(?:<[^>]*>)?\s*\(/.exec(sig)?.[1] ?? /\b(?:class|struct|interface|object|trait|enum)\s+(\w+)/.exec(sig)?.[1] ?? '';
    if (close < 0 || countTokens(doc) < 3 || skipName(name) || /^\s*(if|for|while|switch|catch|return)\b/.test(sig)) {
      continue;
    }
    const n = ind.length;
    const dedent = (s: string): string =>
      s
        .split('\n')
        .map((l, i) => (i === 0 ? l : l.slice(Math.min(n, indentOf(l)))))
        .join('\n');
    const completion = dedent(text.slice(open, close));
    if (bodyLines(completion) < 3) {
      continue;
    }
    out.push({ name, prompt: `${header}${renderComment(doc, styleOf(rawDoc))}\n${sig.trimEnd()}`, completion: ` ${completion}\n` });
    re.lastIndex = open + 1;
  }
  return out;
}
