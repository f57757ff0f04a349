// The elided parse: tree-sitter over a file without the insides of its brace blocks
// (and of its block comments), or without Python's body statements (elide.ts and
// elide-python.ts find them). Nodes keep their real offsets and positions. The tree is
// trusted only when a check says the parser saw what the lexer assumed; otherwise the
// file is parsed whole. Tests compare elided and whole parses on large corpora.
import { parserFor } from './treesitter';
import { braceDialect, elidableBlocks, type Elided, includedRanges } from './elide';
import { type PyElided, pythonElidable } from './elide-python';

type Parser = NonNullable<Awaited<ReturnType<typeof parserFor>>>;
export type Tree = NonNullable<ReturnType<Parser['parse']>>;

/** Counts of parses with elided insides, of those parsed again whole because the check failed, and of whole parses. */
export const parseCounts = { elided: 0, reparsed: 0, whole: 0 };

/**
 * Every elided block is still one bracketed node, and every elided comment inside is
 * a comment node from its `/*` to its `*\/`. The text before such a comment is what
 * the parser would see without elision (earlier elisions being checked too), so it
 * lexes the same `/*` there, which then ends at the first `*\/`: where it ends here.
 */
function bracesHold(tree: Tree, blocks: Elided[], comments: Elided[], commentTypes: ReadonlySet<string>): boolean {
  const root = tree.rootNode;
  for (const e of blocks) {
    const open = root.descendantForIndex(e.start - 1, e.start - 1);
    if (!open || open.type !== '{' || open.startIndex !== e.start - 1 || open.parent?.endIndex !== e.end + 1) {
      return false;
    }
  }
  for (const e of comments) {
    let c = root.descendantForIndex(e.start - 2, e.start - 2);
    if (c && !commentTypes.has(c.type) && c.parent?.startIndex === e.start - 2) {
      c = c.parent; // Rust: the comment's `/*` is a child token
    }
    if (!c || c.startIndex !== e.start - 2 || c.endIndex !== e.end + 2 || !commentTypes.has(c.type)) {
      return false;
    }
  }
  return true;
}

/** Python: the statements around each elided run are still siblings in one block. */
function pythonHolds(tree: Tree, elided: PyElided[]): boolean {
  const root = tree.rootNode;
  return elided.every((e) => {
    let n = root.descendantForIndex(e.after, e.after);
    while (n?.parent && n.parent.startIndex === e.after && n.parent.type !== 'block') {
      n = n.parent;
    }
    const block = n?.parent;
    return !!n && n.startIndex === e.after && block?.type === 'block' && block.children.some((c) => c?.startIndex === e.before);
  });
}

/**
 * The tree of `text`, elided where that is safe (`elide: false`: every byte is
 * parsed). Throws when the parser fails on the input; the caller frees the tree.
 */
export function parseElided(parser: Parser, grammar: string, text: string, opts: { elide: boolean; python: boolean; commentTypes: ReadonlySet<string> }): Tree | null {
  let tree: Tree | null = null;
  const dialect = opts.elide ? braceDialect(grammar) : null;
  const comments: Elided[] = [];
  const blocks = dialect ? elidableBlocks(text, dialect, comments) : opts.python && opts.elide ? pythonElidable(text) : null;
  if (blocks && blocks.length + comments.length > 0) {
    parseCounts.elided++;
    // Blocks never hold comments (elidableBlocks keeps those), so the two never overlap.
    const all = comments.length === 0 ? blocks : blocks.length === 0 ? comments : [...blocks, ...comments].sort((a, b) => a.start - b.start);
    try {
      tree = parser.parse(text, null, { includedRanges: includedRanges(text, all) });
    } catch {
      parser.reset();
    }
    const holds = (t: Tree): boolean => !t.rootNode.hasError && (opts.python ? pythonHolds(t, blocks as PyElided[]) : bracesHold(t, blocks, comments, opts.commentTypes));
    if (!tree || !holds(tree)) {
      tree?.delete();
      tree = null;
      parseCounts.reparsed++;
    }
  }
  if (!tree) {
    tree = parser.parse(text);
    parseCounts.whole++;
  }
  return tree;
}
