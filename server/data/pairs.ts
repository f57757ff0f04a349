// NL->code pairs from real parsers: a doc comment (or Python docstring) and the
// function, method or class it documents. Prompt: path header + doc comment +
// signature (Python: signature + docstring). Completion: the body.
import type { Node } from 'web-tree-sitter';
import type { RawPair } from './types';
import { bodyLines, countTokens, dedentTail, firstParagraph, renderComment, skipName, stripMarkers, styleOf } from './doccomment';
import { parserFor } from './treesitter';
import { parseCounts, parseElided, type Tree } from './parse';

export { parseCounts };

interface Spec {
  /** Node types that yield a pair. */
  defs: Set<string>;
  /** Node type -> the child type (or field) whose children are walked for nested defs. */
  containers: Record<string, string>;
  /** Nodes that wrap a def (export, decorators, templates). */
  wrappers: Set<string>;
  comments: Set<string>;
  /** Nodes that may sit between a doc comment and its def (Rust attributes). */
  between: Set<string>;
  python?: boolean;
  /** Only comments starting with one of these count as docs (Rust: ///, /**). */
  docPrefixes?: string[];
  constructors?: Set<string>;
  /** Walk into function bodies too (JS: UMD/IIFE wrappers and closures hold most functions). */
  nestedFunctions?: boolean;
}

interface SpecInput {
  defs: string[];
  containers?: Record<string, string>;
  wrappers?: string[];
  comments?: string[];
  between?: string[];
  constructors?: string[];
  python?: boolean;
  docPrefixes?: string[];
  nestedFunctions?: boolean;
}

const S = (o: SpecInput): Spec => ({
  python: o.python,
  docPrefixes: o.docPrefixes,
  nestedFunctions: o.nestedFunctions,
  defs: new Set(o.defs),
  containers: o.containers ?? {},
  wrappers: new Set(o.wrappers ?? []),
  comments: new Set(o.comments ?? ['comment']),
  between: new Set(o.between ?? []),
  constructors: new Set(o.constructors ?? []),
});

const JS = S({
  defs: ['function_declaration', 'generator_function_declaration', 'class_declaration', 'abstract_class_declaration', 'method_definition', 'lexical_declaration', 'variable_declaration'],
  containers: { class_declaration: 'body', abstract_class_declaration: 'body' },
  wrappers: ['export_statement'],
  nestedFunctions: true,
});

const FUNCTIONS = new Set(['function_declaration', 'generator_function_declaration', 'function_expression', 'function', 'generator_function', 'arrow_function', 'method_definition']);

/**
 * The statement block of the function that `node` is or wraps: a function, `var f = (function () {...})`,
 * or an IIFE statement `(function () {...}).call(this)`. Found by following first children a few levels.
 */
function functionBody(node: Node): Node | null {
  let n: Node | null = node;
  for (let i = 0; i < 6 && n; i++) {
    const t = n.type; // each read of a node's type is a call into the parser
    if (FUNCTIONS.has(t)) {
      const b = n.childForFieldName('body');
      return b && b.type === 'statement_block' ? b : null;
    }
    if (t === 'lexical_declaration' || t === 'variable_declaration') {
      n = n.namedChildren.find((c) => c?.type === 'variable_declarator')?.childForFieldName('value') ?? null;
    } else if (['expression_statement', 'parenthesized_expression', 'call_expression', 'member_expression', 'unary_expression'].includes(t)) {
      n = n.namedChild(0);
    } else {
      return null;
    }
  }
  return null;
}

const SPECS: Record<string, Spec> = {
  typescript: JS,
  tsx: JS,
  javascript: JS,
  python: S({ defs: ['function_definition', 'class_definition'], containers: { class_definition: 'body' }, wrappers: ['decorated_definition'], python: true }),
  go: S({ defs: ['function_declaration', 'method_declaration'] }),
  rust: S({
    defs: ['function_item', 'struct_item', 'enum_item', 'trait_item'],
    containers: { impl_item: 'body', trait_item: 'body', mod_item: 'body' },
    comments: ['line_comment', 'block_comment'],
    between: ['attribute_item'],
    docPrefixes: ['///', '/**'],
  }),
  java: S({
    defs: ['class_declaration', 'interface_declaration', 'enum_declaration', 'method_declaration'],
    containers: { class_declaration: 'body', interface_declaration: 'body', enum_declaration: 'body' },
    comments: ['block_comment', 'line_comment'],
    constructors: ['constructor_declaration'],
  }),
  'c-sharp': S({
    defs: ['class_declaration', 'struct_declaration', 'interface_declaration', 'record_declaration', 'method_declaration'],
    containers: { namespace_declaration: 'body', class_declaration: 'body', struct_declaration: 'body', interface_declaration: 'body', record_declaration: 'body' },
    constructors: ['constructor_declaration', 'destructor_declaration'],
  }),
  cpp: S({
    defs: ['function_definition', 'class_specifier', 'struct_specifier'],
    containers: { namespace_definition: 'body', class_specifier: 'body', struct_specifier: 'body', linkage_specification: 'body' },
    wrappers: ['template_declaration'],
  }),
};

export function hasGrammarSpec(grammar: string): boolean {
  return grammar in SPECS;
}

/** Children of a container whose items are walked (the body node, or the file_scoped namespace itself). */
function innerOf(node: Node, type: string, spec: Spec): Node | null {
  const field = spec.containers[type];
  return field ? node.childForFieldName(field) : null;
}

function nameOf(node: Node, type: string, src: string): string {
  const direct = node.childForFieldName('name');
  if (direct) {
    return textOf(direct, src);
  }
  if (type === 'lexical_declaration' || type === 'variable_declaration') {
    const n = node.namedChildren.find((c) => c?.type === 'variable_declarator')?.childForFieldName('name');
    return n ? textOf(n, src) : '';
  }
  // C/C++: the name sits inside the declarator chain.
  let d = node.childForFieldName('declarator');
  while (d && d.childForFieldName('declarator')) {
    d = d.childForFieldName('declarator');
  }
  return d ? textOf(d, src).replace(/^.*::/, '') : '';
}

/** The body node of a def; for `const f = () => {}` the arrow function's body. */
function bodyOf(node: Node, type: string): Node | null {
  if (type === 'lexical_declaration' || type === 'variable_declaration') {
    const value = node.namedChildren.find((c) => c?.type === 'variable_declarator')?.childForFieldName('value');
    if (!value || !['arrow_function', 'function_expression', 'function', 'generator_function'].includes(value.type)) {
      return null;
    }
    const b = value.childForFieldName('body');
    return b && b.type === 'statement_block' ? b : null;
  }
  return node.childForFieldName('body');
}

/** The text of a node, sliced from the source (cheaper than `node.text`). */
const textOf = (n: Node, src: string): string => src.slice(n.startIndex, n.endIndex);

/**
 * The children of a container, each child's type and namedness read from the tree at
 * most once (every such read is a call into the parser, through web-tree-sitter's glue).
 */
class Kids {
  private readonly types: Array<string | undefined>;
  private readonly named: Array<boolean | undefined>;

  constructor(readonly nodes: Array<Node | null>) {
    this.types = new Array<string | undefined>(nodes.length);
    this.named = new Array<boolean | undefined>(nodes.length);
  }

  type(i: number): string {
    return (this.types[i] ??= this.nodes[i]?.type ?? '');
  }

  isNamed(i: number): boolean {
    return (this.named[i] ??= this.nodes[i]?.isNamed ?? false);
  }
}

/** Index of the named sibling before `kids[i]`, or -1. */
function prevNamed(kids: Kids, i: number): number {
  for (let k = i - 1; k >= 0; k--) {
    if (kids.isNamed(k)) {
      return k;
    }
  }
  return -1;
}

/**
 * The doc comment right above the anchor `kids[at]` (adjacent lines, no blank line
 * between). `kids` are all children of the anchor's parent, so siblings cost nothing.
 */
function docAbove(kids: Kids, at: number, spec: Spec, src: string): string | null {
  const parts: string[] = [];
  let nextRow = kids.nodes[at]!.startPosition.row;
  let si = prevNamed(kids, at);
  while (si >= 0 && spec.between.has(kids.type(si))) {
    nextRow = kids.nodes[si]!.startPosition.row;
    si = prevNamed(kids, si);
  }
  while (si >= 0 && spec.comments.has(kids.type(si))) {
    const sib = kids.nodes[si]!;
    const text = textOf(sib, src);
    const endRow = sib.endPosition.row - (text.endsWith('\n') ? 1 : 0);
    if (nextRow - endRow > 1) {
      break;
    }
    const before = si > 0 ? kids.nodes[si - 1] : null;
    if (before && before.endPosition.row === sib.startPosition.row && !spec.comments.has(kids.type(si - 1))) {
      break; // a trailing comment on a code line
    }
    parts.unshift(text.replace(/\n$/, ''));
    nextRow = sib.startPosition.row;
    if (text.trimStart().startsWith('/*')) {
      break; // one block comment is the whole doc
    }
    si = prevNamed(kids, si);
  }
  if (parts.length === 0) {
    return null;
  }
  const raw = parts.join('\n');
  if (spec.docPrefixes && !spec.docPrefixes.some((p) => raw.trimStart().startsWith(p))) {
    return null;
  }
  if (/copyright|license|spdx-license/i.test(raw)) {
    return null;
  }
  return raw;
}

/** A def's body node, looked up once (`undefined`: not yet). */
interface DefInfo {
  def: Node;
  type: string;
  body?: Node | null;
}

const bodyOnce = (d: DefInfo): Node | null => (d.body === undefined ? (d.body = bodyOf(d.def, d.type)) : d.body);

function makePair(d: DefInfo, kids: Kids, at: number, spec: Spec, src: string, header: string): RawPair | null {
  const def = d.def;
  const anchor = kids.nodes[at]!;
  const name = nameOf(def, d.type, src);
  if (skipName(name) || spec.constructors?.has(d.type)) {
    return null;
  }
  const body = bodyOnce(d);
  if (!body) {
    return null;
  }
  const indent = anchor.startPosition.column;
  if (spec.python) {
    const first = body.namedChildren[0];
    const str = first?.type === 'expression_statement' ? first.namedChildren[0] : null;
    if (!first || !str || str.type !== 'string') {
      return null;
    }
    const doc = firstParagraph(textOf(str, src).replace(/^[rRuUbB]*("""|'''|"|')/, '').replace(/("""|'''|"|')$/, '').split('\n').map((l) => l.trim()));
    const rest = body.namedChildren.slice(1);
    if (countTokens(doc, 3) < 3 || rest.length === 0) {
      return null;
    }
    const lineStart = src.lastIndexOf('\n', rest[0]!.startIndex - 1) + 1;
    const completion = dedentTail('\n' + src.slice(lineStart, body.endIndex), indent).slice(1);
    if (bodyLines(completion, 3) < 3) {
      return null;
    }
    const bodyIndent = ' '.repeat(Math.max(0, first.startPosition.column - indent));
    const signature = dedentTail(src.slice(anchor.startIndex, body.startIndex).trimEnd(), indent);
    // Not dedented (a top-level def), the completion is the text from `lineStart` on.
    return { name, prompt: `${header}${signature}\n${renderComment(doc, '"""', bodyIndent)}\n`, completion: completion.endsWith('\n') ? completion : `${completion}\n`, at: indent === 0 ? lineStart : undefined };
  }
  const raw = docAbove(kids, at, spec, src);
  if (!raw) {
    return null;
  }
  const doc = firstParagraph(stripMarkers(raw));
  if (countTokens(doc, 3) < 3) {
    return null;
  }
  // Attributes between the doc and the def (Rust #[...]) belong to the signature.
  let start: Node = anchor;
  for (let k = prevNamed(kids, at); k >= 0 && spec.between.has(kids.type(k)); k = prevNamed(kids, k)) {
    start = kids.nodes[k]!;
  }
  const sigRaw = dedentTail(src.slice(start.startIndex, body.startIndex), indent);
  const signature = sigRaw.trimEnd();
  const completion = sigRaw.slice(signature.length) + dedentTail(textOf(body, src), indent);
  if (bodyLines(completion, 3) < 3) {
    return null;
  }
  const from = indent === 0 ? body.startIndex - (sigRaw.length - signature.length) : undefined;
  return { name, prompt: `${header}${renderComment(doc, styleOf(raw))}\n${signature}`, completion: `${completion}\n`, at: from };
}

function walk(container: Node, spec: Spec, src: string, header: string, out: RawPair[], depth: number): void {
  if (depth > 6) {
    return;
  }
  // All children at once (comments and punctuation too): siblings are then array lookups.
  const kids = new Kids(container.children);
  for (let at = 0; at < kids.nodes.length; at++) {
    const child = kids.nodes[at];
    if (!child || !kids.isNamed(at)) {
      continue;
    }
    let def: Node = child;
    let type = kids.type(at);
    if (spec.wrappers.has(type)) {
      const inner = child.childForFieldName('declaration') ?? child.childForFieldName('definition') ?? child.namedChildren.find((c) => c !== null && spec.defs.has(c.type)) ?? null;
      if (!inner) {
        continue;
      }
      def = inner;
      type = inner.type;
    } else if (spec.comments.has(type)) {
      continue;
    }
    const d: DefInfo = { def, type };
    if (spec.defs.has(type) || spec.constructors?.has(type)) {
      const pair = makePair(d, kids, at, spec, src, header);
      if (pair) {
        out.push(pair);
      }
    }
    const inner = innerOf(def, type, spec) ?? (spec.nestedFunctions ? nestedBody(d) : null);
    if (inner) {
      walk(inner, spec, src, header, out, depth + 1);
    } else if (type === 'file_scoped_namespace_declaration') {
      walk(def, spec, src, header, out, depth + 1);
    }
  }
}

/** functionBody(def), reusing the body makePair already looked up where it is the same node. */
function nestedBody(d: DefInfo): Node | null {
  const t = d.type;
  if (FUNCTIONS.has(t)) {
    const b = bodyOnce(d);
    return b && b.type === 'statement_block' ? b : null;
  }
  if (t === 'lexical_declaration' || t === 'variable_declaration') {
    const b = bodyOnce(d);
    if (b) {
      return b; // a function value's statement block (bodyOf checks both)
    }
  }
  return functionBody(d.def);
}

/** A comment line or block end directly followed by code, or a triple-quoted string: only then can a file have pairs. */
const DOC_CANDIDATE = /(^[ \t]*\/\/[^\n]*|\*\/[ \t]*)\n[ \t]*[^\s/*]/m;
const PY_DOC_CANDIDATE = /"""|'''/;

/**
 * Pairs of one file, or null when the grammar cannot be loaded. `elide: false` parses
 * every byte (the elided parse must give the same pairs; tests check both).
 */
export async function treeSitterPairs(grammar: string, text: string, header: string, opts: { elide?: boolean } = {}): Promise<RawPair[] | null> {
  const spec = SPECS[grammar];
  if (spec && !(spec.python ? PY_DOC_CANDIDATE : DOC_CANDIDATE).test(text)) {
    return []; // nothing could be a documented def: skip the parse
  }
  const parser = spec ? await parserFor(grammar) : null;
  if (!spec || !parser) {
    return null;
  }
  let tree: Tree | null;
  try {
    tree = parseElided(parser, grammar, text, { elide: opts.elide !== false, python: spec.python === true, commentTypes: spec.comments });
  } catch {
    parser.reset();
    return null; // the parser failed on this input: the heuristic takes over
  }
  if (!tree) {
    return null;
  }
  try {
    const out: RawPair[] = [];
    walk(tree.rootNode, spec, text, header, out, 0);
    return out;
  } finally {
    tree.delete();
  }
}
