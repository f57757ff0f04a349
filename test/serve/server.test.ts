// The language server over real JSON-RPC: capabilities, completions, KV reuse,
// cancellation, a typing burst, bad requests (the server stays up), no tensor leaks.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes, LSPErrorCodes, MessageType, TextDocumentSyncKind } from 'vscode-languageserver-protocol';
import { LoadModelRequest, StatusRequest } from '../../server/protocol';
import { tempDir } from '../helpers';
import { CancellationTokenSource, dataCode, fileUri, responseError, TestServer, tinyModel } from './lsp';

const DOC = 'function add(a: number, b: number) {\n';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('language server', () => {
  let server: TestServer;
  let work: string;
  before(async () => {
    work = tempDir('codetune-serve-server-');
    server = await TestServer.start({ init: { baseModel: tinyModel() }, workspaceFolders: [work] });
  });
  after(async () => {
    await server.stop();
  });

  it('initialize advertises inline completions and incremental sync; status reports the backend', async () => {
    assert.equal(server.capabilities.inlineCompletionProvider, true);
    assert.equal(server.capabilities.textDocumentSync, TextDocumentSyncKind.Incremental);
    const st = await server.status();
    assert.equal(st.model.state, 'unloaded', 'the model loads lazily');
    assert.deepEqual(st.counters, { requested: 0, computed: 0, cancelled: 0 });
    const loaded = await server.conn.sendRequest(LoadModelRequest, {});
    assert.equal(loaded.backend.backend, 'wasm');
    const st2 = await server.status();
    assert.equal(st2.model.state, 'loaded');
    assert.equal(st2.model.fim, 'qwen');
    assert.equal(st2.backend?.backend, 'wasm');
    assert.ok(st2.backend!.skipped.length > 0, 'why the native backends were skipped');
    assert.ok(st2.memory.numTensors > 0 && st2.memory.rssBytes > 0);
  });

  it('didOpen then inlineCompletion returns an item at the cursor', async () => {
    const uri = fileUri(path.join(work, 'a.ts'));
    await server.open(uri, DOC);
    const items = await server.items(uri, { line: 1, character: 0 });
    assert.equal(items.length, 1);
    assert.equal(typeof items[0].insertText, 'string');
    assert.notEqual(String(items[0].insertText).trim(), '', 'never an empty item');
    assert.deepEqual(items[0].range, { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } });
    assert.deepEqual(await server.items(uri, { line: 1, character: 0 }), items, 'greedy: the same answer again');
  });

  it('a prompt that extends the previous one prefills only the new tokens', async () => {
    const uri = fileUri(path.join(work, 'kv.ts'));
    const text = 'export function mean(xs: number[]): number {\n  let total = 0;\n';
    await server.open(uri, text);
    await server.items(uri, { line: 2, character: 0 });
    const before = (await server.status()).kvCache;
    await server.insert(uri, { line: 2, character: 0 }, '  for');
    await server.items(uri, { line: 2, character: 5 });
    const after = (await server.status()).kvCache;
    const prefilled = after.prefilledTokens - before.prefilledTokens;
    const reused = after.reusedTokens - before.reusedTokens;
    assert.ok(reused >= 20, `reused ${reused} cached prompt tokens`);
    assert.ok(prefilled >= 1 && prefilled <= 3, `prefilled ${prefilled} new tokens`);
  });

  it('$/cancelRequest: a cancelled request gets the cancellation error, and the next one works', async () => {
    const uri = fileUri(path.join(work, 'cancel.ts'));
    await server.open(uri, DOC);
    const c0 = (await server.status()).counters;
    const source = new CancellationTokenSource();
    const pending = server.complete(uri, { line: 1, character: 0 }, source);
    setTimeout(() => source.cancel(), 5);
    const e = await responseError(pending);
    assert.equal(e.code, LSPErrorCodes.RequestCancelled);
    const c1 = (await server.status()).counters;
    assert.equal(c1.cancelled - c0.cancelled, 1);
    assert.equal(c1.computed - c0.computed, 0);
    assert.equal((await server.items(uri, { line: 1, character: 0 })).length, 1);
  });

  // How many of a typing burst's requests get computed depends on the host: one that
  // finishes a completion between two keystrokes answers that keystroke too. So the
  // typing-speed burst checks what holds at any speed, and a burst sent back to back
  // (faster than any completion) checks that superseded requests are not computed.
  type Settled = { status: 'fulfilled'; value: unknown } | { status: 'rejected'; reason: unknown };
  const burst = async (name: string, gapMs: number): Promise<{ sentMs: number; computed: number; settled: Settled[] }> => {
    const uri = fileUri(path.join(work, name));
    await server.open(uri, DOC);
    const c0 = (await server.status()).counters;
    const word = 'const result = compute(a, b) + 1; // burst of typing';
    const pending: Array<Promise<Settled>> = [];
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) {
      await server.insert(uri, { line: 1, character: i }, word[i]);
      pending.push(server.items(uri, { line: 1, character: i + 1 }).then((value): Settled => ({ status: 'fulfilled', value }), (reason: unknown): Settled => ({ status: 'rejected', reason })));
      if (gapMs > 0) {
        await sleep(gapMs);
      }
    }
    const sentMs = performance.now() - t0;
    const settled = await Promise.all(pending);
    const c1 = (await server.status()).counters;
    const computed = c1.computed - c0.computed;
    const cancelled = c1.cancelled - c0.cancelled;
    process.stdout.write(`# burst (${gapMs} ms apart): 50 requests sent in ${sentMs.toFixed(0)} ms; computed ${computed}, cancelled ${cancelled}\n`);
    assert.equal(c1.requested - c0.requested, 50);
    assert.equal(computed + cancelled, 50);
    const last = settled[49];
    assert.equal(last.status, 'fulfilled', 'the last request is answered');
    const fresh = await server.items(uri, { line: 1, character: 50 });
    assert.deepEqual(last.status === 'fulfilled' ? last.value : null, fresh, 'for the final text');
    for (const s of settled.slice(0, 49)) {
      assert.ok(s.status === 'fulfilled' || (s.reason instanceof Error && 'code' in s.reason && s.reason.code === LSPErrorCodes.RequestCancelled), 'superseded requests get the cancellation error');
    }
    return { sentMs, computed, settled };
  };

  it('a typing burst of 50 requests in 1 s: each is answered or cancelled, and the last gets a fresh answer', async () => {
    const { sentMs } = await burst('burst.ts', 15);
    assert.ok(sentMs < 1500, 'sent within about a second');
  });

  it('a burst of 50 requests sent back to back computes at most 3 of them', async () => {
    const { computed } = await burst('burst2.ts', 0);
    assert.ok(computed <= 3, `computed ${computed}`);
  });

  it('bad requests get proper LSP errors and the server answers the next request', async () => {
    const uri = fileUri(path.join(work, 'bad.ts'));
    await server.open(uri, DOC);
    const check = async (p: Promise<unknown>, code: number, message: RegExp) => {
      const e = await responseError(p);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
      assert.ok((await server.items(uri, { line: 1, character: 0 })).length === 1, 'the next request works');
    };
    await check(server.complete(fileUri(path.join(work, 'never-opened.ts')), { line: 0, character: 0 }), ErrorCodes.InvalidParams, /is not open/);
    await check(server.complete(uri, { line: 7, character: 0 }), ErrorCodes.InvalidParams, /out of range: the document has 2 lines/);
    await check(server.complete(uri, { line: 0, character: 99 }), ErrorCodes.InvalidParams, /out of range: line 0 has \d+ characters/);
    await check(server.complete(uri, { line: -1, character: 0 }), ErrorCodes.InvalidParams, /invalid position/);
    await check(server.conn.sendRequest(LoadModelRequest, { model: path.join(work, 'no-such-model') }), LSPErrorCodes.RequestFailed, /does not exist/);
    assert.equal((await server.status()).model.dir, tinyModel(), 'a failed switch keeps the current model');
    assert.ok(server.alive);
    assert.equal(server.stderr.join(''), '', 'nothing on stderr');
  });

  it('no leaks: tf.memory().numTensors does not grow over 1,000 completion requests', async () => {
    const leak = await TestServer.start({ init: { baseModel: tinyModel(), completions: { maxTokens: 3, maxSingleLineTokens: 3 } }, workspaceFolders: [work] });
    try {
      const a = fileUri(path.join(work, 'leak-a.ts'));
      const b = fileUri(path.join(work, 'leak-b.py'));
      await leak.open(a, DOC);
      await leak.open(b, 'def f(x):\n    return x\n\nprint(f(2))\n', 'python');
      const run = async (n: number) => {
        for (let i = 0; i < n; i++) {
          if (i % 4 === 3) {
            await leak.insert(a, { line: 1, character: 0 }, 'x'); // the prompt grows: KV reuse path
          }
          await leak.complete(i % 2 === 0 ? a : b, i % 2 === 0 ? { line: 1, character: 0 } : { line: 1, character: 4 + (i % 5) });
        }
      };
      await run(20);
      const start = (await leak.status()).memory.numTensors;
      await run(1000);
      const st = await leak.status();
      assert.equal(st.counters.computed, 1020);
      assert.equal(st.memory.numTensors, start, `tensors: ${start} → ${st.memory.numTensors}`);
    } finally {
      await leak.stop();
    }
  });
});

describe('language server without a usable base model', () => {
  it('a missing base model is a proper error and a window/showMessage; the server recovers on loadModel', async () => {
    const storage = tempDir('codetune-serve-missing-');
    for (const init of [{}, { baseModel: path.join(storage, 'missing') }]) {
      const s = await TestServer.start({ init });
      try {
        const uri = fileUri(path.join(storage, 'a.ts'));
        await s.open(uri, DOC);
        const e = await responseError(s.complete(uri, { line: 1, character: 0 }));
        assert.equal(e.code, LSPErrorCodes.RequestFailed);
        assert.match(e.message, init.baseModel ? /does not exist/ : /no base model is configured/);
        const st = await s.conn.sendRequest(StatusRequest, {});
        assert.equal(st.model.state, 'error');
        assert.ok(s.messages.some((m) => m.type === MessageType.Error && /cannot load the base model/.test(m.message)), 'shown to the user');
        const load = await responseError(s.conn.sendRequest(LoadModelRequest, {}));
        assert.equal(dataCode(load), 'CHECKPOINT_MISSING');
        await s.conn.sendRequest(LoadModelRequest, { model: tinyModel() });
        assert.equal((await s.items(uri, { line: 1, character: 0 })).length, 1);
        assert.ok(fs.existsSync(tinyModel()));
      } finally {
        await s.stop();
      }
    }
  });
});
