// Doc comments: strip comment markers, cut to the first paragraph (CodeSearchNet),
// render back in the source's own style, and dedent extracted code.

export type CommentStyle = '/**' | '/*' | '///' | '//' | '#' | '--' | '"""';

export function styleOf(raw: string): CommentStyle {
  const t = raw.trimStart();
  for (const s of ['/**', '/*', '///', '//', '#', '--'] as const) {
    if (t.startsWith(s)) {
      return s;
    }
  }
  return '//';
}

/** Comment text without markers, one entry per line. */
export function stripMarkers(raw: string): string[] {
  return raw
    .replace(/^\s*\/\*\*?/, '')
    .replace(/\*\/\s*$/, '')
    .split('\n')
    .map((l) =>
      l
        .replace(/^\s*(\/\/[/!]?|#+|--|\*(?!\/))/, '')
        .replace(/\r$/, '')
        .trim(),
    );
}

/**
 * The first paragraph of a docstring: lines up to the first blank line or tag line
 * (JSDoc `@param`, reST `:param`, Google `Args:`). C# XML docs: the <summary> text.
 */
export function firstParagraph(lines: string[]): string[] {
  let ls = lines;
  const joined = ls.join('\n');
  const summary = /<summary>([\s\S]*?)<\/summary>/i.exec(joined);
  if (summary) {
    ls = summary[1].split('\n').map((l) => l.trim());
  }
  ls = ls.map((l) => l.replace(/<\/?[a-zA-Z][^>]*>/g, '').trim());
  while (ls.length > 0 && ls[0] === '') {
    ls = ls.slice(1);
  }
  const out: string[] = [];
  for (const l of ls) {
    if (l === '' || /^(@\w+|:\w+|(Args|Arguments|Returns|Raises|Parameters|Yields|Example|Examples):)/.test(l)) {
      break;
    }
    out.push(l);
  }
  return out;
}

/** Whitespace-separated words in the lines, counted up to `cap`. */
export function countTokens(lines: string[], cap = Infinity): number {
  let n = 0;
  for (const l of lines) {
    let inWord = false;
    for (let i = 0; i < l.length; i++) {
      const c = l.charCodeAt(i);
      const space = c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x2028 || c === 0x2029 || c === 0xfeff || (c >= 0x2000 && c <= 0x200a) || c === 0x1680 || c === 0x202f || c === 0x205f || c === 0x3000;
      if (space) {
        inWord = false;
      } else if (!inWord) {
        inWord = true;
        if (++n >= cap) {
          return n;
        }
      }
    }
  }
  return n;
}

/** Render docstring lines as a comment of `style`, indented by `indent`. */
export function renderComment(lines: string[], style: CommentStyle, indent = ''): string {
  switch (style) {
    case '/**':
    case '/*':
      return [`${indent}${style}`, ...lines.map((l) => `${indent} * ${l}`), `${indent} */`].join('\n');
    case '"""':
      return lines.length === 1 ? `${indent}"""${lines[0]}"""` : [`${indent}"""${lines[0]}`, ...lines.slice(1).map((l) => `${indent}${l}`), `${indent}"""`].join('\n');
    default:
      return lines.map((l) => `${indent}${style} ${l}`).join('\n');
  }
}

/** Remove up to `n` leading whitespace characters from every line after the first. */
export function dedentTail(text: string, n: number): string {
  if (n <= 0) {
    return text;
  }
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    let k = 0;
    while (k < n && k < lines[i].length && (lines[i][k] === ' ' || lines[i][k] === '\t')) {
      k++;
    }
    lines[i] = lines[i].slice(k);
  }
  return lines.join('\n');
}

/** Lines of real code in a body (not blank, not only brackets and separators), counted up to `cap`. */
export function bodyLines(body: string, cap = Infinity): number {
  let n = 0;
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf('\n', start);
    if (end < 0) {
      end = body.length;
    }
    const t = body.slice(start, end).trim();
    if (t !== '' && !/^[{}()[\];,]+$/.test(t) && ++n >= cap) {
      return n;
    }
    start = end + 1;
  }
  return n;
}

const TRIVIAL = new Set(['toString', '__str__', '__repr__', 'String', 'ToString', 'hashCode', 'GetHashCode', 'equals', 'Equals', '__eq__', '__hash__', 'fmt', 'toJSON', 'valueOf', '__init__', 'constructor', '__new__', '__del__', 'Dispose', 'dispose']);

/** CodeSearchNet-style exclusions: tests, constructors, trivial methods. */
export function skipName(name: string): boolean {
  return name === '' || TRIVIAL.has(name) || /test/i.test(name) || name.startsWith('~');
}

/** Test files: their functions are not NL->code pairs. */
export function isTestPath(p: string): boolean {
  return /(^|\/)(tests?|__tests__|spec|testdata|fixtures)\//i.test(p) || /(\.|_|-)(test|spec)s?\.[a-z]+$|(^|\/)test_[^/]*\.py$|_test\.go$|Tests?\.(java|cs|kt)$/i.test(p);
}
