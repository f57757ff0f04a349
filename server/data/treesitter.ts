// Tree-sitter loader: web-tree-sitter with the grammar .wasm files of
// @vscode/tree-sitter-wasm. The .wasm files are looked for next to the bundle
// (dist/) first, then in node_modules. A grammar that fails to load means the
// heuristic extractor is used for that language (and the stats say so).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Language as LanguageT, Parser as ParserT } from 'web-tree-sitter';

// Loaded through require(): the package's ESM build needs import.meta.url, which the
// CommonJS bundle (dist/cli.js) does not have; its CommonJS build works in both.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Language, Parser } = require('web-tree-sitter') as typeof import('web-tree-sitter');
type Language = LanguageT;
type Parser = ParserT;

let init: Promise<boolean> | null = null;
const langs = new Map<string, Promise<Language | null>>();
const parsers = new Map<string, Parser>();

function resolveOr(spec: string): string | null {
  try {
    return require.resolve(spec);
  } catch {
    return null;
  }
}

/** Folders searched for .wasm files, in order. */
export function wasmSearchDirs(): string[] {
  const dirs = [__dirname, path.join(__dirname, 'grammars')];
  const grammarsPkg = resolveOr('@vscode/tree-sitter-wasm/package.json');
  if (grammarsPkg) {
    dirs.push(path.join(path.dirname(grammarsPkg), 'wasm'));
  }
  const runtime = resolveOr('web-tree-sitter/web-tree-sitter.wasm');
  if (runtime) {
    dirs.push(path.dirname(runtime));
  }
  return dirs;
}

function findWasm(name: string): string | null {
  for (const d of wasmSearchDirs()) {
    const p = path.join(d, name);
    if (fs.existsSync(p)) {
      return p;
    }
  }
  return null;
}

function initOnce(): Promise<boolean> {
  if (!init) {
    const runtime = findWasm('web-tree-sitter.wasm');
    init = runtime
      ? Parser.init({ locateFile: () => runtime }).then(
          () => true,
          () => false,
        )
      : Promise.resolve(false);
  }
  return init;
}

/** Load a grammar by its @vscode/tree-sitter-wasm name (e.g. "typescript", "c-sharp"); null if unavailable. */
export function loadGrammar(grammar: string): Promise<Language | null> {
  let p = langs.get(grammar);
  if (!p) {
    p = initOnce().then(async (ok) => {
      const file = ok ? findWasm(`tree-sitter-${grammar}.wasm`) : null;
      if (!file) {
        return null;
      }
      try {
        return await Language.load(fs.readFileSync(file));
      } catch {
        return null;
      }
    });
    langs.set(grammar, p);
  }
  return p;
}

/** A parser for a grammar, reused across files; null when the grammar is unavailable. */
export async function parserFor(grammar: string): Promise<Parser | null> {
  const existing = parsers.get(grammar);
  if (existing) {
    return existing;
  }
  const lang = await loadGrammar(grammar);
  if (!lang) {
    return null;
  }
  const p = new Parser();
  p.setLanguage(lang);
  parsers.set(grammar, p);
  return p;
}
