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
  const n = lines.length;
  // Per line, in one pass: indentation (as trimStart counts it), blank, comment.
  const indent = new Int32Array(n);
  const comment = new Uint8Array(n);
  const lineStart = new Int32Array(n);
  const notMarker = marker === '//' ? '///' : '#!';
  for (let i = 0; i < n; i++) {
    const l = lines[i];
    lineStart[i] = i === 0 ? 0 : lineStart[i - 1] + lines[i - 1].length + 1;
    let k = 0;
    while (k < l.length && isSpace(l.charCodeAt(k))) {
      k++;
    }
    indent[i] = k;
    comment[i] = l.startsWith(marker, k) && !l.startsWith(notMarker, k) && !(marker === '#' && DIRECTIVE.test(l.slice(k))) ? 1 : 0;
  }
  const blank = (i: number): boolean => indent[i] === lines[i].length;
  const out: RawPair[] = [];
  for (let i = 0; i < n; i++) {
    if (!comment[i] || (i > 0 && comment[i - 1])) {
      continue;
    }
    let j = i;
    while (j < n && comment[j]) {
      j++;
    }
    const runLen = j - i;
    const ind = indent[i];
    if (runLen > 3 || j >= n || blank(j) || indent[j] !== ind) {
      continue;
    }
    const text = lines.slice(i, j).join('\n');
    const words = stripMarkers(text);
    if (countTokens(words, 3) < 3 || /copyright|license|eslint|noqa|type:\s*ignore|prettier-ignore|TODO|FIXME/i.test(text)) {
      continue;
    }
    let k = j;
    while (k < n && k - j < 30 && !blank(k) && indent[k] >= ind && !comment[k]) {
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
      at: ind === 0 ? lineStart[j] : undefined, // unindented: a slice of the text
    });
    i = k - 1;
  }
  return out;
}

/** Preprocessor and region lines start with `#` but are not comments. */
const DIRECTIVE = /^#\s*(include|define|if|ifdef|ifndef|endif|pragma|region|endregion)\b/;

/** The characters String.prototype.trim removes (white space and line terminators). */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
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
    if (close < 0 || countTokens(doc, 3) < 3 || skipName(name) || /^\s*(if|for|while|switch|catch|return)\b/.test(sig)) {
      continue;
    }
    const n = ind.length;
    const dedent = (s: string): string =>
      s
        .split('\n')
        .map((l, i) => (i === 0 ? l : l.slice(Math.min(n, indentOf(l)))))
        .join('\n');
    const completion = dedent(text.slice(open, close));
    if (bodyLines(completion, 3) < 3) {
      continue;
    }
    out.push({ name, prompt: `${header}${renderComment(doc, styleOf(rawDoc))}\n${sig.trimEnd()}`, completion: ` ${completion}\n` });
    re.lastIndex = open + 1;
  }
  return out;
}
