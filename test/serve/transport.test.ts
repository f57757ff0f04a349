// The node-IPC transport (as vscode-languageclient's TransportKind.ipc starts it, with
// --clientProcessId), the server-side debounce, and flags as defaults for
// initializationOptions.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { createProtocolConnection, IPCMessageReader, IPCMessageWriter, InitializeRequest, ExitNotification, ShutdownRequest } from 'vscode-languageserver-protocol/node';
import { StatusRequest } from '../../server/protocol';
import { tempDir } from '../helpers';
import { DIST_CLI, fileUri, TestServer, tinyModel } from './lsp';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('transports and settings', () => {
  it('--node-ipc: initialize and status over the IPC channel; flags fill in the settings', async () => {
    const storage = tempDir('codetune-serve-ipc-');
    const proc = fork(DIST_CLI, ['serve', '--node-ipc', `--clientProcessId=${process.pid}`, '--model', tinyModel(), '--storage', storage, '--backend', 'wasm'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const conn = createProtocolConnection(new IPCMessageReader(proc), new IPCMessageWriter(proc));
    conn.listen();
    try {
      const init = await conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {} });
      assert.equal(init.capabilities.inlineCompletionProvider, true);
      const st = await conn.sendRequest(StatusRequest, {});
      assert.equal(st.model.dir, tinyModel(), '--model is the base model');
      assert.equal(st.model.state, 'unloaded');
    } finally {
      const gone = new Promise((r) => proc.once('exit', r));
      await conn.sendRequest(ShutdownRequest.type);
      await conn.sendNotification(ExitNotification.type);
      await gone;
      conn.dispose();
    }
  });

  it('a server-side debounce computes only the last of a quick series', async () => {
    const server = await TestServer.start({ init: { baseModel: tinyModel(), completions: { debounceMs: 150 } } });
    try {
      const uri = fileUri(path.join(tempDir('codetune-serve-debounce-'), 'a.ts'));
      await server.open(uri, 'function f() {\n');
      await server.items(uri, { line: 1, character: 0 }); // load the model
      const c0 = (await server.status()).counters;
      const results: Array<Promise<boolean>> = [];
      for (let i = 0; i < 8; i++) {
        await server.insert(uri, { line: 1, character: i }, 'a');
        results.push(server.items(uri, { line: 1, character: i + 1 }).then(() => true, () => false));
        await sleep(10);
      }
      const ok = await Promise.all(results);
      const c1 = (await server.status()).counters;
      assert.deepEqual(ok, [false, false, false, false, false, false, false, true], 'only the last is answered');
      assert.equal(c1.computed - c0.computed, 1);
      assert.equal(c1.cancelled - c0.cancelled, 7);
    } finally {
      await server.stop();
    }
  });

  it('serve needs exactly one transport', async () => {
    const { runCli } = await import('../helpers');
    for (const args of [['serve'], ['serve', '--stdio', '--node-ipc']]) {
      const r = runCli(args);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /exactly one of --stdio or --node-ipc/);
    }
  });
});
