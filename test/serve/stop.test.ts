// Stop rules, single/multi-line choice and overlap trimming, data-driven: the text before
// and after the cursor is written with a `|` for the cursor.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cursorContext, cutCompletion, finishCompletion } from '../../server/serve/stop';

function ctxOf(doc: string) {
  const i = doc.indexOf('|');
  return cursorContext(doc.slice(0, i), doc.slice(i + 1));
}

describe('single- or multi-line from context', () => {
  const check = (doc: string, multiline: boolean): void => {
    it(`${JSON.stringify(doc)} → ${multiline ? 'multi' : 'single'}`, () => assert.equal(ctxOf(doc).multiline, multiline));
  };
  check('/** Adds two numbers. */\n|', true); // after a doc comment: the NL→code body
  check('def f(x):\n    """Square x."""\n    |', true);
  check('function f() {|\n}', true); // block opener at the end of the line
  check('if x:|', true);
  check('const total = |', false);
  check('foo(|bar)', false); // code after the cursor: finish this line only
  check('print(|)', false); // even closing brackets after the cursor: one line
  check('let x = compute(|);', false);
  check('// a comment in progress|', false);
  check('/** Adds two numbers. */|', true); // a finished doc comment: the code it describes follows

});

describe('stop rules', () => {
  const check = (name: string, doc: string, generated: string, expected: { text: string; done: boolean }): void => {
    it(name, () => assert.deepEqual(cutCompletion(generated, ctxOf(doc)), expected));
  };
  check('single-line stops at the first newline', 'const x = |', '42;\nconst y = 1;', { text: '42;', done: true });
  check('single-line keeps going without a newline', 'const x = |', '42', { text: '42', done: false });
  check('dedent below the starting indentation ends the block', 'def f(x):\n    |', 'y = x * 2\n    return y\ndef g():\n', { text: 'y = x * 2\n    return y', done: true });
  check('a closing bracket beyond the balance: its line is kept, then stop', 'function f() {\n  |', 'return 1;\n}\n\nfunction g() {', { text: 'return 1;\n}', done: true });
  check('a closer in the middle of a line beyond the balance: cut before it', 'call(|', 'a, b)\nnext()', { text: 'a, b', done: true });
  check('brackets opened in the completion balance out', 'function f() {\n  |', 'if (a) {\n    b();\n  }\n  return 2;\n', { text: 'if (a) {\n    b();\n  }\n  return 2;\n', done: false });
  check('brackets in strings do not count', '|', 'x = ")}"\ny = 1\n', { text: 'x = ")}"\ny = 1\n', done: false });
  check('a double blank line ends the completion', '|', 'a = 1\nb = 2\n\n\nc = 3', { text: 'a = 1\nb = 2', done: true });
  check('one blank line does not', '|', 'a = 1\n\nb = 2\n', { text: 'a = 1\n\nb = 2\n', done: false });
  check('an unfinished closing line waits for its end', 'function f() {\n  |', 'return 1;\n}', { text: 'return 1;\n}', done: false });
});

describe('finished items', () => {
  const check = (name: string, doc: string, generated: string, expected: string | null): void => {
    it(name, () => assert.equal(finishCompletion(generated, ctxOf(doc)), expected));
  };
  check('the closing bracket the line already has is trimmed', 'print(|)', '"hello")', '"hello"');
  check('a closing line the suffix already has is trimmed', 'function f() {\n  |\n}\n', 'return 1;\n}', 'return 1;');
  check('several repeated lines are trimmed', 'if (a) {\n  |\n  }\n}', 'b();\n  }\n}', 'b();');
  check('a partial overlap that is not punctuation stays', 'x = |b + 1', 'a', 'a');
  check('whitespace-only is no item', 'x = |', '   ', null);
  check('empty after the stop rules is no item', 'const x = |', '\nfoo', null);
  check('trailing whitespace goes', '|', 'a = 1\n\n', 'a = 1');
  check('at the end of a doc comment line, the code starts on the next line', '/** Adds. */|', '\nfunction add(a, b) {\n  return a + b;\n}\n\n\nfoo', '\nfunction add(a, b) {\n  return a + b;\n}');
  check('the memorised body after a doc comment survives whole', '/** Adds two numbers. */\nfunction add(a, b) {\n|', '  return a + b;\n}\n', '  return a + b;\n}');
});
