// Which parts of a source file the pair extractor never needs to see parsed: the
// insides of brace blocks that hold no comment. A pair needs a doc comment, so a
// block with no comment in it holds no documented def; the extractor only needs the
// block's extent (a body's text is sliced from the source). Tree-sitter is then told
// to parse the file without those insides (`includedRanges`), which keeps every node
// at its real offset and makes the parse several times cheaper on typical code.
// Python has its own lexer (elide-python.ts).
//
// The lexer here only has to find braces outside strings, comments, characters,
// template literals and regular expressions. When unsure (unbalanced braces), it
// elides nothing; parse.ts also checks the parse (no errors, every elided block still
// a bracketed node, every elided comment still a comment) and parses the whole file
// again if the check fails. Tests compare elided and whole parses on large corpora.

/** The brace-language dialects the lexer knows. */
export type BraceDialect = 'js' | 'c' | 'go' | 'rust' | 'csharp' | 'java';

const DIALECT: Record<string, BraceDialect> = {
  typescript: 'js',
  tsx: 'js',
  javascript: 'js',
  cpp: 'c',
  go: 'go',
  rust: 'rust',
  'c-sharp': 'csharp',
  java: 'java',
};

export function braceDialect(grammar: string): BraceDialect | null {
  return DIALECT[grammar] ?? null;
}

/** A block's inside, `[start, end)`: from just after `{` to its `}`. */
export interface Elided {
  start: number;
  end: number;
}

/** Blocks smaller than this are not worth a range of their own. */
const MIN_ELIDE = 24;

const isIdent = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c > 127;

/** Words after which a `/` starts a regular expression in JS. */
const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'instanceof', 'yield', 'await']);

/** Block comments with fewer inside characters than this keep them. */
const MIN_ELIDE_COMMENT = 256;

/**
 * The maximal comment-free brace blocks of `text`, in order; null when the braces do
 * not balance (then nothing is elided). `comments`, when given, receives the insides
 * of the block comments outside those blocks (from after `/*` to the first `*\/`):
 * the parser still sees `/**\/`, one comment token at the same offsets. Doc comments
 * are most of what is left to parse once bodies are elided (on lodash, 69%).
 */
export function elidableBlocks(text: string, dialect: BraceDialect, comments?: Elided[]): Elided[] | null {
  const js = dialect === 'js';
  const n = text.length;
  // Open blocks: their `{` offsets, and whether a comment was seen inside. Template
  // literal `${` holes are pushed with offset -1 (never elided, and a `}` closing one
  // resumes the template).
  const opens: number[] = [];
  const commented: boolean[] = [];
  const out: Elided[] = [];
  // The last significant character and word, for JS regex detection.
  let lastSig = 0;
  let lastWordEnd = -1;
  let lastWordStart = -1;
  const markComment = (): void => {
    if (commented.length > 0) {
      commented[commented.length - 1] = true;
    }
  };
  let i = 0;
  // Scan a template literal's text from `i` (just after a backtick or a hole's `}`):
  // returns the index after the closing backtick, or after a `${` (pushing a hole).
  const template = (from: number): number => {
    let j = from;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 92) {
        j += 2;
      } else if (c === 96) {
        return j + 1;
      } else if (c === 36 && text.charCodeAt(j + 1) === 123) {
        opens.push(-1);
        commented.push(false);
        return j + 2;
      } else {
        j++;
      }
    }
    return n;
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    const next = text.charCodeAt(i + 1);
    if (c === 47 && next === 47) {
      // line comment
      const e = text.indexOf('\n', i);
      i = e < 0 ? n : e + 1;
      markComment();
      continue;
    }
    if (c === 47 && next === 42) {
      const e = text.indexOf('*/', i + 2);
      if (comments && e - (i + 2) >= MIN_ELIDE_COMMENT) {
        comments.push({ start: i + 2, end: e });
      }
      i = e < 0 ? n : e + 2;
      markComment();
      continue;
    }
    if (c === 35 && dialect === 'c') {
      // a preprocessor line (with continuations): braces in macros do not count
      let j = i;
      for (;;) {
        const e = text.indexOf('\n', j);
        if (e < 0) {
          j = n;
          break;
        }
        j = e + 1;
        if (text.charCodeAt(e - 1) !== 92) {
          break;
        }
      }
      i = j;
      markComment(); // a conditional may hold half a block: never elide around one
      continue;
    }
    if (c === 123) {
      opens.push(i);
      commented.push(false);
      lastSig = c;
      i++;
      continue;
    }
    if (c === 125) {
      if (opens.length === 0) {
        return null;
      }
      const open = opens.pop()!;
      const hadComment = commented.pop()!;
      if (open < 0) {
        // the end of a template hole: back into the template's text
        if (hadComment) {
          markComment();
        }
        i = template(i + 1);
        lastSig = 96;
        continue;
      }
      if (hadComment) {
        markComment();
      } else if (i - open - 1 >= MIN_ELIDE) {
        while (out.length > 0 && out[out.length - 1].start > open) {
          out.pop(); // inside this block: subsumed
        }
        out.push({ start: open + 1, end: i });
      }
      lastSig = c;
      i++;
      continue;
    }
    if (c === 34) {
      // "..."; C# verbatim @"..." and raw Rust strings are handled below
      if (dialect === 'csharp' && text.charCodeAt(i - 1) === 64) {
        let j = i + 1;
        while (j < n) {
          if (text.charCodeAt(j) === 34) {
            if (text.charCodeAt(j + 1) === 34) {
              j += 2;
              continue;
            }
            break;
          }
          j++;
        }
        i = j + 1;
      } else if ((dialect === 'java' || dialect === 'csharp') && next === 34 && text.charCodeAt(i + 2) === 34) {
        const e = text.indexOf('"""', i + 3);
        i = e < 0 ? n : e + 3;
      } else {
        i = skipQuoted(text, i, 34);
      }
      lastSig = 34;
      continue;
    }
    if (c === 39) {
      if (js) {
        i = skipQuoted(text, i, 39);
      } else if (dialect === 'rust') {
        // 'x', '\n', '\u{..}' are chars; 'a (no closing quote right after) is a lifetime
        if (next === 92) {
          i = skipQuoted(text, i, 39);
        } else if (text.charCodeAt(i + 2) === 39) {
          i += 3;
        } else {
          const cp = text.codePointAt(i + 1) ?? 0;
          const w = cp > 0xffff ? 2 : 1;
          i = text.charCodeAt(i + 1 + w) === 39 ? i + 2 + w : i + 1;
        }
      } else {
        i = skipQuoted(text, i, 39);
      }
      lastSig = 39;
      continue;
    }
    if (c === 96 && (js || dialect === 'go')) {
      if (js) {
        i = template(i + 1);
      } else {
        const e = text.indexOf('`', i + 1);
        i = e < 0 ? n : e + 1;
      }
      lastSig = 96;
      continue;
    }
    if (c === 114 && dialect === 'rust' && (next === 35 || next === 34) && !isIdent(text.charCodeAt(i - 1))) {
      // r"..." / r#"..."#
      let j = i + 1;
      let hashes = 0;
      while (text.charCodeAt(j) === 35) {
        hashes++;
        j++;
      }
      if (text.charCodeAt(j) === 34) {
        const close = '"' + '#'.repeat(hashes);
        const e = text.indexOf(close, j + 1);
        i = e < 0 ? n : e + close.length;
        lastSig = 34;
        continue;
      }
    }
    if (c === 47 && js) {
      const word = lastWordEnd === i || (lastWordEnd >= 0 && /^\s*$/.test(text.slice(lastWordEnd, i))) ? text.slice(lastWordStart, lastWordEnd) : '';
      const afterValue = lastSig === 41 || lastSig === 93 || lastSig === 125 || lastSig === 34 || lastSig === 39 || lastSig === 96 || (isIdent(lastSig) && !REGEX_AFTER_WORD.has(word));
      if (!afterValue) {
        i = skipRegex(text, i);
        lastSig = 34;
        continue;
      }
    }
    if (isIdent(c)) {
      const s = i;
      while (i < n && isIdent(text.charCodeAt(i))) {
        i++;
      }
      lastWordStart = s;
      lastWordEnd = i;
      lastSig = 97;
      continue;
    }
    lastSig = c;
    i++;
  }
  return opens.length === 0 ? out : null;
}

/**
 * Past a quoted string or char (`quote`), or a JS regular expression (`regex`: its
 * classes may hold `/`, and flags follow), starting at `i`. Backslash escapes; an
 * unterminated literal ends at the line's end.
 */
function skipLiteral(text: string, i: number, quote: number, regex = false): number {
  let j = i + 1;
  let inClass = false;
  const n = text.length;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === 92) {
      j += 2;
      continue;
    }
    if (c === 10) {
      return j;
    }
    if (inClass) {
      inClass = c !== 93;
    } else if (regex && c === 91) {
      inClass = true;
    } else if (c === quote) {
      j++;
      while (regex && j < n && isIdent(text.charCodeAt(j))) {
        j++;
      }
      return j;
    }
    j++;
  }
  return n;
}

const skipQuoted = (text: string, i: number, quote: number): number => skipLiteral(text, i, quote);
const skipRegex = (text: string, i: number): number => skipLiteral(text, i, 47, true);

/** A tree-sitter range over the source (character offsets; columns in characters). */
export interface SourceRange {
  startIndex: number;
  endIndex: number;
  startPosition: { row: number; column: number };
  endPosition: { row: number; column: number };
}

/** The ranges to parse: the whole text minus the elided insides. */
export function includedRanges(text: string, elided: Elided[]): SourceRange[] {
  const ranges: SourceRange[] = [];
  let row = 0;
  let lineStart = 0;
  let scanned = 0;
  const point = (idx: number): { row: number; column: number } => {
    for (let k = text.indexOf('\n', scanned); k >= 0 && k < idx; k = text.indexOf('\n', k + 1)) {
      row++;
      lineStart = k + 1;
    }
    scanned = Math.max(scanned, idx);
    return { row, column: idx - lineStart };
  };
  let from = 0;
  for (const e of elided) {
    const startPosition = point(from);
    const endPosition = point(e.start);
    ranges.push({ startIndex: from, endIndex: e.start, startPosition, endPosition });
    from = e.end;
  }
  const startPosition = point(from);
  ranges.push({ startIndex: from, endIndex: text.length, startPosition, endPosition: point(text.length) });
  return ranges;
}
