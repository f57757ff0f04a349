// Python's share of elided parsing (see elide.ts): in the body of each def that is
// not inside another def, the statements from the 3rd to the one before the last are
// left out of the parse. A pair reads only the docstring, the statement after it and
// the body's extent. Logical lines are found with a small lexer (strings, brackets,
// continuations, comments); decorators and else/elif/except/finally clauses belong to
// the statement before them. When unsure (tabs, unterminated strings, inconsistent
// indentation) nothing is elided.
import type { Elided } from './elide';

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
