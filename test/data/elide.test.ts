// Elided parsing: tree-sitter skips the insides of comment-free blocks. The pairs must
// equal those of a whole-file parse, for code whose braces hide in strings, template
// literals, regexes, chars, raw strings and macros; a file the lexer misreads must be
// parsed whole again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { elidableBlocks, includedRanges } from '../../server/data/elide';
import { pythonElidable } from '../../server/data/elide-python';
import { parseCounts, treeSitterPairs } from '../../server/data/pairs';

async function same(grammar: string, src: string, expectElided = true): Promise<void> {
  const before = { ...parseCounts };
  const elided = await treeSitterPairs(grammar, src, '// path: x\n');
  const usedElision = parseCounts.elided > before.elided && parseCounts.reparsed === before.reparsed;
  const whole = await treeSitterPairs(grammar, src, '// path: x\n', { elide: false });
  assert.ok(whole && whole.length > 0, 'the source has pairs');
  assert.deepEqual(elided, whole);
  assert.equal(usedElision, expectElided, expectElided ? 'the elided parse was used' : 'the file was parsed whole');
}

test('elidableBlocks: comment-free blocks only, outermost, braces in strings and comments ignored', () => {
  const src = 'function a() {\n  const s = "}{";\n  if (x) { y(); z(); w(); v(); u(); }\n}\nfunction b() {\n  // a comment keeps this block\n  if (x) { y(); z(); w(); v(); u(); }\n}\n';
  const blocks = elidableBlocks(src, 'js')!;
  assert.equal(blocks.length, 2);
  assert.equal(src.slice(blocks[0].start - 1, blocks[0].end + 1), src.slice(src.indexOf('{'), src.indexOf('}\nfunction b') + 1), "a's whole body");
  assert.equal(src.slice(blocks[1].start, blocks[1].end), ' y(); z(); w(); v(); u(); ', "b's inner block, not b's body");
  assert.equal(elidableBlocks('function a() { if (x) {', 'js'), null, 'unbalanced: nothing elided');
  assert.equal(elidableBlocks('}', 'c'), null);
});

test('includedRanges: the text minus the elided insides, with rows and columns', () => {
  const src = 'ab {\n  xyz\n} cd\nef';
  const r = includedRanges(src, [{ start: 4, end: 11 }]);
  assert.deepEqual(
    r.map((x) => [x.startIndex, x.endIndex, x.startPosition.row, x.startPosition.column, x.endPosition.row, x.endPosition.column]),
    [
      [0, 4, 0, 0, 0, 4],
      [11, 18, 2, 0, 3, 2],
    ],
  );
});

test('typescript/javascript: braces in strings, templates with nested holes, regexes, JSX-free code', async () => {
  const src = [
    '/** Build the greeting for every user in the list. */',
    'export function greet(users: string[]): string {',
    '  const open = "{", close = \'}\';',
    '  const re = /[{}]+\\/}/g;',
    '  const t = `a ${users.map((u) => `${u}{`).join("}")} b`;',
    '  return users.map((u) => { return `${open}${u}${close}`; }).join(t.replace(re, ""));',
    '}',
    '',
    '/** Divide the total by the count of the items. */',
    'function ratio(total, count) {',
    '  const half = total / 2 / count;',
    '  const x = (total) / count / 3;',
    '  return { half, x, y: [1, 2, 3].map((v) => { return v / 2; }) };',
    '}',
  ].join('\n');
  await same('typescript', src);
  await same('javascript', src.replace(': string[]): string', ')'));
});

test('go, rust, java, c#, c++: raw strings, chars, lifetimes, verbatim strings, macros', async () => {
  await same('go', `// Render writes every row of the table as text.\nfunc Render(rows []string) string {\n\ts := \`{ raw }\` + string('}')\n\tfor _, r := range rows {\n\t\ts += r + "{"\n\t}\n\treturn s\n}\n`);
  await same('rust', `/// Longest of the two strings given here.\npub fn longest<'a>(x: &'a str, y: &'a str) -> &'a str {\n    let c = '}';\n    let r = r#"{ "raw" }"#;\n    if x.len() > y.len() { x } else { let _ = (c, r); y }\n}\n`);
  await same('java', `class A {\n  /** Joins the parts of the name with braces. */\n  public String join(String a) {\n    char c = '{';\n    String s = "}" + a + c;\n    return s + s.length() + "text block";\n  }\n}\n`);
  await same('c-sharp', `class A {\n  /// <summary>Quote the value with braces around it.</summary>\n  public string Quote(string v) {\n    var s = @"C:\\dir\\{""x""}";\n    var c = '}';\n    return s + v + c + "{{";\n  }\n}\n`);
  await same('cpp', `#define OPEN {\n\n/* Count the set bits of the value given. */\nint popcount(unsigned v) {\n  int n = 0;\n  const char *s = "}";\n  while (v) { n += v & 1; v >>= 1; }\n  return n + (s[0] == '{');\n}\n`);
});

test('a file the lexer misreads is parsed whole again, with the same pairs', async () => {
  // A regex after `)` reads as division to the lexer: its `{` then opens a "block" that
  // the next regex's `}` closes, so the elided parse fails its check and the file is
  // parsed whole.
  const src = [
    '/** Check the value against the pattern given. */',
    'function check(v) {',
    '  // A comment: this body is kept, blocks inside it may be elided.',
    '  const n = v.length;',
    '  if (n) /{/.test(v) || /[a-z]+ and more text}/.test(v);',
    '  return [v, v, v].map((x) => { return x + 1; }).join(",");',
    '}',
    'function pad() { return "} and some more text to elide here"; }',
  ].join('\n');
  const before = { ...parseCounts };
  await same('javascript', src, false);
  assert.ok(elidableBlocks(src, 'js')!.length > 0, 'the lexer did elide a (wrong) block');
  assert.equal(parseCounts.reparsed, before.reparsed + 1, 'parsed with elision, checked, parsed again');
});

test('long block comments lose their insides too: the parser sees /**/ at the same offsets', async () => {
  const doc = (what: string): string => ['/**', ` * ${what}`, ...Array.from({ length: 8 }, (_, i) => ` * @param p${i} The value number ${i} that the caller passes in here.`), ' */'].join('\n');
  const src = [doc('Add up the values of the list given.'), 'function sum(xs) {', '  let s = 0;', '  for (const x of xs) { s += x; }', '  return s;', '}', '', 'class Bag {', `  ${doc('Count the items kept in this bag.')}`, '  count() {', '    let n = 0;', '    for (const k in this) { n++; }', '    return n;', '  }', '}', '/* short */'].join('\n');
  const comments: Array<{ start: number; end: number }> = [];
  elidableBlocks(src, 'js', comments);
  assert.equal(comments.length, 2, 'the two long doc comments; the short one keeps its inside');
  assert.ok(comments.every((c) => src.slice(c.start - 2, c.start) === '/*' && src.slice(c.end, c.end + 2) === '*/'));
  await same('javascript', src);
  await same('java', `class Bag {\n  ${doc('Count the items kept in this bag.')}\n  public int count() {\n    int n = 0;\n    for (int i = 0; i < 3; i++) { n++; }\n    return n;\n  }\n}\n`);
  await same('rust', `${doc('Add up the values of the list given.')}\npub fn sum(xs: &[i32]) -> i32 {\n    let mut s = 0;\n    for x in xs { s += x; }\n    s\n}\n`);
});

test('a comment the lexer misreads (in a JSX text) fails the check: parsed whole, same pairs', async () => {
  // JSX text is not a comment to the parser; the lexer takes the "/* ... */" in it for one.
  const long = 'x'.repeat(300);
  const src = ['/** Render the view of the row given here. */', 'function View(r) {', `  const v = <p>a /* b ${long} */ c</p>;`, '  const w = [v, r];', '  return w;', '}'].join('\n');
  const comments: Array<{ start: number; end: number }> = [];
  elidableBlocks(src, 'js', comments);
  assert.ok(comments.some((c) => src.slice(c.start, c.end).includes(long)), 'the lexer elides inside the JSX text');
  const before = { ...parseCounts };
  await same('javascript', src, false);
  assert.equal(parseCounts.reparsed, before.reparsed + 1, 'parsed with elision, checked, parsed again');
});

test('python: a body keeps its first two statements and its last; strings, brackets and continuations are read', async () => {
  const src = [
    'class Store:',
    '    """A store of items."""',
    '',
    '    def total(self, items):',
    '        """Sum the prices of all the items given."""',
    '        s = 0',
    '        for i in items:',
    '            s += i.price',
    '        text = """a string',
    'at column zero: def fake():',
    '    and more"""',
    '        call(a,',
    '  b)  # a comment with a backslash \\',
    '        x = 1 + \\',
    '            2',
    '        def inner():',
    '            return 3',
    '        return s',
    '',
    'async def fetch(url):',
    "    '''Fetch the url and return the body text.'''",
    '    r = await get(url)',
    '    b = r.body',
    '    c = b.strip()',
    '    if c:',
    '        return c',
    '    return None',
  ].join('\n');
  const ranges = pythonElidable(src)!;
  assert.deepEqual(
    ranges.map((r) => src.slice(r.start, r.end).split('\n')[0].trim()),
    ['for i in items:', 'b = r.body'],
  );
  await same('python', src);
  assert.equal(pythonElidable('def f():\n\tx = 1\n'), null, 'tab indentation: nothing elided');
});
