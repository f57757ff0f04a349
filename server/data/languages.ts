// File name -> language: which grammar parses it, how its line comments start,
// and whether it is code, markup/docs or data.
import * as path from 'node:path';

export type FileKind = 'code' | 'doc' | 'config' | 'data';

export interface LanguageInfo {
  language: string;
  kind: FileKind;
  /** Grammar file in @vscode/tree-sitter-wasm (without `tree-sitter-` and `.wasm`). */
  grammar?: string;
  /** Line comment marker, used for path headers and comment->block pairs. */
  lineComment?: string;
}

const L = (language: string, kind: FileKind, lineComment?: string, grammar?: string): LanguageInfo => ({ language, kind, lineComment, grammar });

const BY_EXT: Record<string, LanguageInfo> = {
  '.ts': L('typescript', 'code', '//', 'typescript'),
  '.mts': L('typescript', 'code', '//', 'typescript'),
  '.cts': L('typescript', 'code', '//', 'typescript'),
  '.tsx': L('typescript', 'code', '//', 'tsx'),
  '.js': L('javascript', 'code', '//', 'javascript'),
  '.mjs': L('javascript', 'code', '//', 'javascript'),
  '.cjs': L('javascript', 'code', '//', 'javascript'),
  '.jsx': L('javascript', 'code', '//', 'javascript'),
  '.py': L('python', 'code', '#', 'python'),
  '.pyi': L('python', 'code', '#', 'python'),
  '.go': L('go', 'code', '//', 'go'),
  '.rs': L('rust', 'code', '//', 'rust'),
  '.java': L('java', 'code', '//', 'java'),
  '.cs': L('csharp', 'code', '//', 'c-sharp'),
  // C has no grammar of its own in @vscode/tree-sitter-wasm; the C++ one parses it.
  '.c': L('c', 'code', '//', 'cpp'),
  '.h': L('c', 'code', '//', 'cpp'),
  '.cc': L('cpp', 'code', '//', 'cpp'),
  '.cpp': L('cpp', 'code', '//', 'cpp'),
  '.cxx': L('cpp', 'code', '//', 'cpp'),
  '.hh': L('cpp', 'code', '//', 'cpp'),
  '.hpp': L('cpp', 'code', '//', 'cpp'),
  '.hxx': L('cpp', 'code', '//', 'cpp'),
  '.rb': L('ruby', 'code', '#'),
  '.php': L('php', 'code', '//'),
  '.sh': L('shell', 'code', '#'),
  '.bash': L('shell', 'code', '#'),
  '.zsh': L('shell', 'code', '#'),
  '.kt': L('kotlin', 'code', '//'),
  '.kts': L('kotlin', 'code', '//'),
  '.swift': L('swift', 'code', '//'),
  '.scala': L('scala', 'code', '//'),
  '.dart': L('dart', 'code', '//'),
  '.lua': L('lua', 'code', '--'),
  '.r': L('r', 'code', '#'),
  '.jl': L('julia', 'code', '#'),
  '.pl': L('perl', 'code', '#'),
  '.ex': L('elixir', 'code', '#'),
  '.exs': L('elixir', 'code', '#'),
  '.hs': L('haskell', 'code', '--'),
  '.sql': L('sql', 'code', '--'),
  '.vue': L('vue', 'code', '//'),
  '.svelte': L('svelte', 'code', '//'),
  '.css': L('css', 'code'),
  '.scss': L('scss', 'code', '//'),
  '.less': L('less', 'code', '//'),
  '.html': L('html', 'code'),
  '.md': L('markdown', 'doc'),
  '.rst': L('restructuredtext', 'doc'),
  '.toml': L('toml', 'config', '#'),
  '.ini': L('ini', 'config', '#'),
  '.cfg': L('ini', 'config', '#'),
  '.properties': L('properties', 'config', '#'),
  '.gradle': L('groovy', 'config', '//'),
  '.json': L('json', 'data'),
  '.jsonc': L('json', 'data'),
  '.json5': L('json', 'data'),
  '.jsonl': L('json', 'data'),
  '.ndjson': L('json', 'data'),
  '.yaml': L('yaml', 'data', '#'),
  '.yml': L('yaml', 'data', '#'),
  '.csv': L('csv', 'data'),
  '.tsv': L('tsv', 'data'),
  '.xml': L('xml', 'data'),
};

const BY_NAME: Record<string, LanguageInfo> = {
  Makefile: L('make', 'config', '#'),
  Dockerfile: L('dockerfile', 'config', '#'),
  CMakeLists: L('cmake', 'config', '#'),
};

const SHEBANG: Array<[RegExp, LanguageInfo]> = [
  [/^#!.*\bpython[0-9.]*\b/, BY_EXT['.py']],
  [/^#!.*\bnode\b/, BY_EXT['.js']],
  [/^#!.*\b(ba|z)?sh\b/, BY_EXT['.sh']],
];

/** The language of a path (by extension or name); `firstLine` resolves extension-less scripts. */
export function languageOf(file: string, firstLine?: string): LanguageInfo | null {
  const base = path.posix.basename(file);
  const ext = path.posix.extname(base).toLowerCase();
  if (ext && BY_EXT[ext]) {
    return BY_EXT[ext];
  }
  const stem = ext ? base.slice(0, -ext.length) : base;
  if (BY_NAME[base] || BY_NAME[stem]) {
    return BY_NAME[base] ?? BY_NAME[stem];
  }
  if (!ext && firstLine) {
    for (const [re, info] of SHEBANG) {
      if (re.test(firstLine)) {
        return info;
      }
    }
  }
  return null;
}

/** A file-path header in the language's comment syntax, e.g. `// path: src/a.ts`. */
export function pathHeader(file: string, info: LanguageInfo | null): string {
  const marker = info?.lineComment;
  if (marker) {
    return `${marker} path: ${file}\n`;
  }
  if (info?.language === 'css') {
    return `/* path: ${file} */\n`;
  }
  return info?.language === 'html' || info?.language === 'markdown' ? `<!-- path: ${file} -->\n` : `# path: ${file}\n`;
}
