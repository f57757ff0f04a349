// Golden tests: for each language, a source file and the NL->code pairs expected from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processFile } from '../../server/data/process';
import { languageOf } from '../../server/data/languages';
import { DEFAULT_FILTERS, type RawPair } from '../../server/data/types';

async function pairsOf(p: string, src: string): Promise<{ pairs: RawPair[]; parser: string | undefined }> {
  const rec = await processFile(p, Buffer.from(src), languageOf(p), DEFAULT_FILTERS);
  assert.equal(rec.skip, undefined, `${p} was skipped: ${rec.skip}`);
  return { pairs: (rec.pairs ?? []).map(({ prompt, completion, name }) => ({ prompt, completion, name })), parser: rec.parser };
}

async function check(p: string, src: string, expected: RawPair[], parser = 'tree-sitter'): Promise<void> {
  const got = await pairsOf(p, src);
  assert.equal(got.parser, parser);
  assert.deepEqual(got.pairs, expected);
}

test('typescript: JSDoc function, exported class with method, arrow const; skips constructor, tests, short bodies', async () => {
  const src = [
    '/**',
    ' * Sum the prices of all items.',
    ' *',
    ' * More detail that is not in the first paragraph.',
    ' * @param items the items',
    ' */',
    'export function total(items: Item[]): number {',
    '  let s = 0;',
    '  for (const i of items) s += i.price;',
    '  return s;',
    '}',
    '',
    '/** Too short body here. */',
    'function tiny(): number {',
    '  return 1;',
    '}',
    '',
    '// Keeps a running count of visits.',
    'export class Counter {',
    '  /** Builds the counter object. */',
    '  constructor() {',
    '    this.n = 0;',
    '    this.m = 0;',
    '    this.k = 0;',
    '  }',
    '  /** Add one visit and return the new count. */',
    '  add(): number {',
    '    this.n += 1;',
    '    log(this.n);',
    '    return this.n;',
    '  }',
    '}',
    '',
    '/** Test that the counter adds. */',
    'function testCounter(): void {',
    '  const c = new Counter();',
    '  c.add();',
    '  check(c);',
    '}',
    '',
    '/** Double each number in the list. */',
    'const double = (xs: number[]) => {',
    '  const out = [];',
    '  for (const x of xs) out.push(2 * x);',
    '  return out;',
    '};',
    '',
  ].join('\n');
  await check('src/total.ts', src, [
    { name: 'total', prompt: '// path: src/total.ts\n/**\n * Sum the prices of all items.\n */\nexport function total(items: Item[]): number', completion: ' {\n  let s = 0;\n  for (const i of items) s += i.price;\n  return s;\n}\n' },
    {
      name: 'Counter',
      prompt: '// path: src/total.ts\n// Keeps a running count of visits.\nexport class Counter',
      completion: ' {\n  /** Builds the counter object. */\n  constructor() {\n    this.n = 0;\n    this.m = 0;\n    this.k = 0;\n  }\n  /** Add one visit and return the new count. */\n  add(): number {\n    this.n += 1;\n    log(this.n);\n    return this.n;\n  }\n}\n',
    },
    { name: 'add', prompt: '// path: src/total.ts\n/**\n * Add one visit and return the new count.\n */\nadd(): number', completion: ' {\n  this.n += 1;\n  log(this.n);\n  return this.n;\n}\n' },
    { name: 'double', prompt: '// path: src/total.ts\n/**\n * Double each number in the list.\n */\nconst double = (xs: number[]) =>', completion: ' {\n  const out = [];\n  for (const x of xs) out.push(2 * x);\n  return out;\n}\n' },
  ]);
});

test('javascript: a // block documents a function; a blank line breaks the link', async () => {
  const src = '// Parse the header line\n// into its fields.\nfunction parse(line) {\n  const a = line.split(",");\n  const b = a.map(trim);\n  return b;\n}\n\n// Detached comment here.\n\nfunction other(x) {\n  x++;\n  x++;\n  return x;\n}\n';
  await check('lib/parse.js', src, [
    { name: 'parse', prompt: '// path: lib/parse.js\n// Parse the header line\n// into its fields.\nfunction parse(line)', completion: ' {\n  const a = line.split(",");\n  const b = a.map(trim);\n  return b;\n}\n' },
  ]);
});

test('python: signature then docstring (first paragraph); method in a class; skips __init__ and test_', async () => {
  const src = [
    'def mean(xs):',
    '    """Return the arithmetic mean of xs.',
    '',
    '    Args:',
    '        xs: numbers',
    '    """',
    '    total = sum(xs)',
    '    n = len(xs)',
    '    return total / n',
    '',
    '',
    'class Stack:',
    '    """A last-in first-out stack."""',
    '',
    '    def __init__(self):',
    '        """Make an empty stack now."""',
    '        self.items = []',
    '        self.n = 0',
    '        self.m = 0',
    '',
    '    @staticmethod',
    '    def pop_all(items):',
    '        """Pop every item and return them."""',
    '        out = list(items)',
    '        items.clear()',
    '        return out',
    '',
    '',
    'def test_mean():',
    '    """Check that the mean works fine."""',
    '    assert mean([1]) == 1',
    '    assert mean([2]) == 2',
    '    assert mean([3]) == 3',
    '',
  ].join('\n');
  await check('pkg/stats.py', src, [
    { name: 'mean', prompt: '# path: pkg/stats.py\ndef mean(xs):\n    """Return the arithmetic mean of xs."""\n', completion: '    total = sum(xs)\n    n = len(xs)\n    return total / n\n' },
    {
      name: 'Stack',
      prompt: '# path: pkg/stats.py\nclass Stack:\n    """A last-in first-out stack."""\n',
      completion: '    def __init__(self):\n        """Make an empty stack now."""\n        self.items = []\n        self.n = 0\n        self.m = 0\n\n    @staticmethod\n    def pop_all(items):\n        """Pop every item and return them."""\n        out = list(items)\n        items.clear()\n        return out\n',
    },
    { name: 'pop_all', prompt: '# path: pkg/stats.py\n@staticmethod\ndef pop_all(items):\n    """Pop every item and return them."""\n', completion: '    out = list(items)\n    items.clear()\n    return out\n' },
  ]);
});

test('go: // doc comments on a function and a method', async () => {
  const src = 'package geo\n\n// Area returns the area of the rectangle.\nfunc Area(w, h float64) float64 {\n\ta := w * h\n\tb := a\n\treturn b\n}\n\n// Scale multiplies both sides by k.\nfunc (r *Rect) Scale(k float64) {\n\tr.W *= k\n\tr.H *= k\n\tr.n++\n}\n';
  await check('geo/rect.go', src, [
    { name: 'Area', prompt: '// path: geo/rect.go\n// Area returns the area of the rectangle.\nfunc Area(w, h float64) float64', completion: ' {\n\ta := w * h\n\tb := a\n\treturn b\n}\n' },
    { name: 'Scale', prompt: '// path: geo/rect.go\n// Scale multiplies both sides by k.\nfunc (r *Rect) Scale(k float64)', completion: ' {\n\tr.W *= k\n\tr.H *= k\n\tr.n++\n}\n' },
  ]);
});

test('rust: /// docs across an attribute, impl methods; plain // comments are not docs', async () => {
  const src = '/// Add two numbers and clamp the result.\n#[inline]\npub fn add(a: i32, b: i32) -> i32 {\n    let s = a + b;\n    let t = s.min(100);\n    t.max(0)\n}\n\nimpl Stack {\n    /// Push a value onto the stack.\n    pub fn push(&mut self, v: i32) {\n        self.items.push(v);\n        self.len += 1;\n        self.dirty = true;\n    }\n}\n\n// not a doc comment at all\nfn hidden() {\n    a();\n    b();\n    c();\n}\n';
  await check('src/lib.rs', src, [
    { name: 'add', prompt: '// path: src/lib.rs\n/// Add two numbers and clamp the result.\n#[inline]\npub fn add(a: i32, b: i32) -> i32', completion: ' {\n    let s = a + b;\n    let t = s.min(100);\n    t.max(0)\n}\n' },
    { name: 'push', prompt: '// path: src/lib.rs\n/// Push a value onto the stack.\npub fn push(&mut self, v: i32)', completion: ' {\n    self.items.push(v);\n    self.len += 1;\n    self.dirty = true;\n}\n' },
  ]);
});

test('java: Javadoc on a method with an annotation; constructor and toString skipped', async () => {
  const src = [
    'public class Account {',
    '  /** Creates the account now please. */',
    '  public Account() {',
    '    a = 1;',
    '    b = 2;',
    '    c = 3;',
    '  }',
    '',
    '  /**',
    '   * Withdraw money if the balance allows it.',
    '   * @param amount how much',
    '   */',
    '  @Override',
    '  public boolean withdraw(long amount) {',
    '    if (amount > balance) return false;',
    '    balance -= amount;',
    '    return true;',
    '  }',
    '',
    '  /** Render the account as text. */',
    '  public String toString() {',
    '    String s = "a";',
    '    s += b;',
    '    return s;',
    '  }',
    '}',
    '',
  ].join('\n');
  await check('src/Account.java', src, [
    { name: 'withdraw', prompt: '// path: src/Account.java\n/**\n * Withdraw money if the balance allows it.\n */\n@Override\npublic boolean withdraw(long amount)', completion: ' {\n  if (amount > balance) return false;\n  balance -= amount;\n  return true;\n}\n' },
  ]);
});

test('c#: XML summary docs inside a namespace and class', async () => {
  const src = 'namespace Bank {\n  public class Ledger {\n    /// <summary>\n    /// Post an entry to the ledger.\n    /// </summary>\n    public void Post(Entry e) {\n      entries.Add(e);\n      total += e.Amount;\n      Save();\n    }\n  }\n}\n';
  await check('Bank/Ledger.cs', src, [
    { name: 'Post', prompt: '// path: Bank/Ledger.cs\n/// Post an entry to the ledger.\npublic void Post(Entry e)', completion: ' {\n  entries.Add(e);\n  total += e.Amount;\n  Save();\n}\n' },
  ]);
});

test('c and c++: functions (the C++ grammar parses C), a namespaced method, a template', async () => {
  const c = '/* Copy n bytes from src to dst. */\nvoid copy(char *dst, const char *src, int n) {\n  for (int i = 0; i < n; i++)\n    dst[i] = src[i];\n  dst[n] = 0;\n}\n';
  await check('src/copy.c', c, [
    { name: 'copy', prompt: '// path: src/copy.c\n/*\n * Copy n bytes from src to dst.\n */\nvoid copy(char *dst, const char *src, int n)', completion: ' {\n  for (int i = 0; i < n; i++)\n    dst[i] = src[i];\n  dst[n] = 0;\n}\n' },
  ]);
  const cpp = 'namespace util {\n/// Return the larger of two values.\ntemplate <typename T>\nT biggest(T a, T b) {\n  T r = a;\n  if (b > a) r = b;\n  return r;\n}\n}\n';
  await check('src/util.hpp', cpp, [
    { name: 'biggest', prompt: '// path: src/util.hpp\n/// Return the larger of two values.\ntemplate <typename T>\nT biggest(T a, T b)', completion: ' {\n  T r = a;\n  if (b > a) r = b;\n  return r;\n}\n' },
  ]);
});

test('kotlin has no grammar here: the heuristic extractor is used and says so', async () => {
  const src = '/** Greet the user by their name. */\nfun greet(name: String): String {\n    val s = "Hi " + name\n    log(s)\n    return s\n}\n';
  await check('app/Greet.kt', src, [{ name: 'greet', prompt: '// path: app/Greet.kt\n/**\n * Greet the user by their name.\n */\nfun greet(name: String): String', completion: ' {\n    val s = "Hi " + name\n    log(s)\n    return s\n}\n' }], 'heuristic');
});

test('functions in test files are not pairs', async () => {
  const src = '/** Sum the prices of all items. */\nexport function total(items) {\n  let s = 0;\n  for (const i of items) s += i;\n  return s;\n}\n';
  const got = await pairsOf('src/total.test.ts', src);
  assert.deepEqual(got.pairs, []);
});

test('javascript: functions inside an IIFE / UMD wrapper and a closure are found', async () => {
  const src = [
    ';(function() {',
    '  /** Used to detect the host object. */',
    '  var root = this;',
    '',
    '  var lib = (function make(context) {',
    '    /**',
    '     * Checks if `value` is an array of numbers.',
    '     */',
    '    function isNumbers(value) {',
    '      if (!Array.isArray(value)) return false;',
    '      for (const v of value) if (typeof v !== "number") return false;',
    '      return true;',
    '    }',
    '    return isNumbers;',
    '  })(root);',
    '}.call(this));',
    '',
  ].join('\n');
  await check('lib.js', src, [
    {
      name: 'isNumbers',
      prompt: '// path: lib.js\n/**\n * Checks if `value` is an array of numbers.\n */\nfunction isNumbers(value)',
      completion: ' {\n  if (!Array.isArray(value)) return false;\n  for (const v of value) if (typeof v !== "number") return false;\n  return true;\n}\n',
    },
  ]);
});
