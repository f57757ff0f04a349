// Which parts of a source file the pair extractor never needs to see parsed: the
// insides of brace blocks that hold no comment. A pair needs a doc comment, so a
// block with no comment in it holds no documented def; the extractor only needs the
// block's extent (a body's text is sliced from the source). Tree-sitter is then told
// to parse the file without those insides (`includedRanges`), which keeps every node
// at its real offset and makes the parse several times cheaper on typical code.
// Python: a def's body statements from the 3rd to the one before the last (a pair
// reads the docstring, the statement after it, and the body's extent).
//
// The lexers here only have to find braces outside strings, comments, characters,
// template literals and regular expressions (Python: logical lines). When unsure
// (unbalanced braces, tabs), they elide nothing; the caller also checks the parse (no
// errors, every elided block still a bracketed node) and parses the whole file again
// if the check fails. Tests compare elided and whole parses on large corpora.

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

/**
 * The maximal comment-free brace blocks of `text`, in order; null when the braces do
 * not balance (then nothing is elided).
 */
export function elidableBlocks(text: string, dialect: BraceDialect): Elided[] | null {
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

/** A logical Python line: where it starts, its indentation, its first word and last code character. */
interface PyLine {
  start: number;
  /** Offset of its first non-blank character. */
  first: number;
  indent: number;
  head: string;
  /** Its last character outside comments (':' opens a block). */
  last: string;
}

/** Python's logical lines (blank and comment-only lines left out); null when indentation uses tabs or form feeds. */
function pythonLines(text: string): PyLine[] | null {
  const n = text.length;
  const lines: PyLine[] = [];
  let i = 0;
  while (i < n) {
    // At a physical line that starts a logical line.
    const start = i;
    let k = i;
    while (k < n && text.charCodeAt(k) === 32) {
      k++;
    }
    const c0 = text.charCodeAt(k);
    if (c0 === 9 || c0 === 12) {
      return null;
    }
    if (k >= n || c0 === 10 || c0 === 35) {
      // blank or comment-only: not a statement
      const e = text.indexOf('\n', k);
      i = e < 0 ? n : e + 1;
      continue;
    }
    const line: PyLine = { start, first: k, indent: k - start, head: '', last: '' };
    let w = k;
    while (w < n && /[A-Za-z_]/.test(text[w])) {
      w++;
    }
    line.head = text.slice(k, w);
    if (line.head === 'async') {
      let v = w;
      while (v < n && text.charCodeAt(v) === 32) {
        v++;
      }
      if (text.startsWith('def', v) && !/[A-Za-z0-9_]/.test(text[v + 3] ?? '')) {
        line.head = 'def';
      }
    }
    // Scan to the end of the logical line: brackets, strings, comments, continuations.
    let depth = 0;
    let j = k;
    let last = '';
    for (;;) {
      if (j >= n) {
        break;
      }
      const c = text.charCodeAt(j);
      if (c === 10) {
        if (depth > 0 || text.charCodeAt(j - 1) === 92) {
          j++;
          continue;
        }
        j++;
        break;
      }
      if (c === 35) {
        // a comment runs to the line's end; a backslash in it continues nothing
        const e = text.indexOf('\n', j);
        j = e < 0 ? n : e + 1;
        if (depth === 0) {
          break;
        }
        continue;
      }
      if (c === 34 || c === 39) {
        const q = text[j];
        const triple = text.startsWith(q + q + q, j);
        const close = triple ? q + q + q : q;
        let p = j + close.length;
        for (;;) {
          if (p >= n) {
            return null; // unterminated string: leave the file whole
          }
          const d = text.charCodeAt(p);
          if (d === 92) {
            p += 2;
          } else if (!triple && d === 10) {
            return null;
          } else if (text.startsWith(close, p)) {
            p += close.length;
            break;
          } else {
            p++;
          }
        }
        j = p;
        last = q;
        continue;
      }
      if (c === 40 || c === 91 || c === 123) {
        depth++;
      } else if (c === 41 || c === 93 || c === 125) {
        depth = Math.max(0, depth - 1);
      }
      if (c !== 32 && c !== 92) {
        last = text[j];
      }
      j++;
    }
    line.last = last;
    lines.push(line);
    i = j;
  }
  return lines;
}

/** Clause keywords that continue a compound statement at its own indentation. */
const CLAUSES = new Set(['else', 'elif', 'except', 'finally']);

/** A Python body's kept statements around an elided run: the 2nd statement's start and the last one's first character. */
export interface PyElided extends Elided {
  /** First character of the statement kept before the elided run. */
  before: number;
  /** First character of the last statement, kept after it. */
  after: number;
}

/**
 * Python: in the body of each def that is not inside another def (functions and
 * methods: a pair reads only the body's first two statements and its extent), the
 * statements from the 3rd to the one before the last. Null when the file cannot be
 * read line by line (tabs, unterminated strings, inconsistent indentation).
 */
export function pythonElidable(text: string): PyElided[] | null {
  const lines = pythonLines(text);
  if (!lines) {
    return null;
  }
  const out: PyElided[] = [];
  // Indentation of the def whose body we are in (-1: none): defs inside it are left alone.
  let inDef = -1;
  for (let li = 0; li < lines.length; li++) {
    const l = lines[li];
    if (inDef >= 0 && l.indent > inDef) {
      continue;
    }
    inDef = -1;
    if (l.head !== 'def' || l.last !== ':') {
      continue;
    }
    inDef = l.indent;
    const body: PyLine[] = [];
    let bodyIndent = -1;
    let afterDecorator = false;
    for (let m = li + 1; m < lines.length && lines[m].indent > l.indent; m++) {
      if (bodyIndent < 0) {
        bodyIndent = lines[m].indent;
      }
      if (lines[m].indent === bodyIndent) {
        // else/elif/except/finally, and what follows a decorator, continue the statement before
        const continues = body.length > 0 && (CLAUSES.has(lines[m].head) || (text.charCodeAt(body[body.length - 1].first) === 64 && afterDecorator));
        if (!continues) {
          body.push(lines[m]);
        }
        afterDecorator = text.charCodeAt(lines[m].first) === 64;
      } else if (lines[m].indent < bodyIndent) {
        return null; // a dedent to no enclosing level: not valid Python
      }
    }
    if (body.length >= 4) {
      out.push({ start: body[2].start, end: body[body.length - 1].start, before: body[1].first, after: body[body.length - 1].first });
    }
  }
  return out;
}
