// Where a completion ends, and what is left of it. Pure text functions, checked after
// every decoded token (`cutCompletion`) and once at the end (`finishCompletion`):
//   - single-line: the first newline;
//   - multi-line: a dedent below the starting indentation, a closing bracket beyond the
//     completion's own balance, or a double blank line;
// then the overlap with the text after the cursor is trimmed, and empty items dropped.

export interface CursorContext {
  /** Text of the cursor's line before the cursor. */
  linePrefix: string;
  /** Text of the cursor's line after the cursor. */
  lineSuffix: string;
  /** Everything after the cursor. */
  suffix: string;
  multiline: boolean;
}

const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const CLOSERS = new Set([')', ']', '}']);
/** What may follow the cursor on its line without forcing a single-line completion. */
const CLOSING_TAIL = /^[\s)\]}>'"`;,]*$/;
/** Line endings after which the code goes on the next lines: a block opener, or the end of a doc comment / docstring. */
const BLOCK_OPENER = /(?:[{([:]|=>|->|"""|'''|\*\/)\s*$/;

/** Indentation in columns (a tab counts 4). */
export function indentOf(line: string): number {
  let n = 0;
  for (const ch of line) {
    if (ch === ' ') {
      n += 1;
    } else if (ch === '\t') {
      n += 4;
    } else {
      break;
    }
  }
  return n;
}

/** Single- or multi-line, from the text around the cursor. */
export function cursorContext(prefix: string, suffix: string): CursorContext {
  const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
  const nl = suffix.indexOf('\n');
  const lineSuffix = nl < 0 ? suffix : suffix.slice(0, nl);
  let multiline: boolean;
  if (lineSuffix.trim() !== '') {
    multiline = false; // mid-line, something follows: finish this line only
  } else if (linePrefix.trim() === '') {
    multiline = true; // an empty (or indented) line: a statement or a body, e.g. after a doc comment
  } else {
    multiline = BLOCK_OPENER.test(linePrefix);
  }
  return { linePrefix, lineSuffix, suffix, multiline };
}

export interface Cut {
  text: string;
  /** A stop rule fired: decoding should end. */
  done: boolean;
}

/**
 * Apply the stop rules to the text generated so far. `final`: no more tokens will come,
 * so an unfinished last line is judged as it is.
 */
export function cutCompletion(text: string, ctx: CursorContext): Cut {
  if (!ctx.multiline) {
    const nl = text.indexOf('\n');
    return nl < 0 ? { text, done: false } : { text: text.slice(0, nl), done: true };
  }
  const lines = text.split('\n');
  let balance = 0;
  let startIndent: number | null = null;
  let offset = 0; // start of line i in `text`
  let blankRun = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const full = i === 0 ? ctx.linePrefix + line : line;
    const complete = i < lines.length - 1;
    const continuesLine = i === 0 && ctx.linePrefix.trim() !== '';
    if (full.trim() === '') {
      if (complete && i > 0) {
        blankRun += 1;
        if (blankRun >= 2) {
          // Two blank lines in a row: cut before the first of them.
          const firstBlank = offset - lines[i - 1].length - 1; // start of the first blank line
          return { text: text.slice(0, Math.max(0, firstBlank - 1)), done: true };
        }
      }
      offset += line.length + 1;
      continue;
    }
    blankRun = 0;
    const indent = indentOf(full);
    const firstChar = full.trimStart()[0];
    if (!continuesLine) {
      if (startIndent === null) {
        startIndent = indent;
      } else if (indent < startIndent && !(CLOSERS.has(firstChar) && balance === 0)) {
        return { text: text.slice(0, Math.max(0, offset - 1)), done: true }; // dedent: the block ended
      }
    }
    // Brackets of this line; a closer beyond the balance closes a block the prefix opened.
    let quote: string | null = null;
    for (let j = 0; j < line.length; j++) {
      const ch = line[j];
      if (quote) {
        if (ch === '\\') {
          j++;
        } else if (ch === quote) {
          quote = null;
        }
        continue;
      }
      if (ch === '"' || ch === "'" || ch === '`') {
        quote = ch;
      } else if (OPENERS[ch]) {
        balance += 1;
      } else if (CLOSERS.has(ch)) {
        balance -= 1;
        if (balance < 0) {
          const atLineStart = line.slice(0, j).trim() === '' && !continuesLine;
          if (!atLineStart) {
            return { text: text.slice(0, offset + j), done: true };
          }
          // The block's closing line: keep it whole, then stop.
          return complete ? { text: text.slice(0, offset + line.length), done: true } : { text, done: false };
        }
      }
    }
    offset += line.length + 1;
  }
  return { text, done: false };
}

/** Trim what the text after the cursor already has. */
export function trimOverlap(text: string, ctx: CursorContext): string {
  let out = text.replace(/\s+$/, '');
  if (ctx.multiline) {
    // Whole trailing lines that repeat the next lines after the cursor.
    const after = ctx.suffix.split('\n');
    if (after.length > 0 && after[0].trim() === '') {
      after.shift();
    }
    const next = after.filter((l) => l.trim() !== '').map((l) => l.trim());
    const lines = out.split('\n');
    for (let m = Math.min(lines.length - 1, next.length); m >= 1; m--) {
      const tail = lines.slice(lines.length - m).map((l) => l.trim());
      if (tail.every((l, k) => l === next[k])) {
        out = lines.slice(0, lines.length - m).join('\n').replace(/\s+$/, '');
        break;
      }
    }
  }
  // Characters at the end that the rest of the cursor's line already holds, e.g. `)` or `");`.
  const rest = ctx.lineSuffix;
  for (let k = Math.min(rest.length, out.length); k >= 1; k--) {
    const piece = rest.slice(0, k);
    if (out.endsWith(piece) && (k === rest.trimEnd().length || CLOSING_TAIL.test(piece)) && piece.trim() !== '') {
      out = out.slice(0, out.length - k);
      break;
    }
  }
  return out;
}

/** The final text of an item, or null when nothing worth showing is left. */
export function finishCompletion(text: string, ctx: CursorContext): string | null {
  const cut = cutCompletion(text, ctx).text;
  const out = trimOverlap(cut, ctx);
  return out.trim() === '' ? null : out;
}
