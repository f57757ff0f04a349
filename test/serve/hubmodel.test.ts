// A hub id as the base model: served from the Hugging Face cache (the extension downloads
// with progress first); an id that is not cached is a clear error that says to download it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LoadModelRequest } from '../../server/protocol';
import { tempDir } from '../helpers';
import { dataCode, fileUri, responseError, TestServer, tinyModel } from './lsp';

describe('language server with a hub id as base model', () => {
  const saved = process.env.HF_HUB_CACHE;
  let cache: string;
  before(() => {
    cache = tempDir('codetune-serve-hf-');
    const commit = 'b'.repeat(40);
    const repo = path.join(cache, 'models--acme--tiny-coder');
    fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'refs', 'main'), commit);
    fs.cpSync(tinyModel(), path.join(repo, 'snapshots', commit), { recursive: true });
    process.env.HF_HUB_CACHE = cache; // the spawned server inherits it
  });
  after(() => {
    process.env.HF_HUB_CACHE = saved;
  });

  it('a cached hub id loads and completes; an uncached one says to download it', async () => {
    const work = tempDir('codetune-serve-hub-');
    const s = await TestServer.start({ init: { baseModel: 'acme/tiny-coder' }, workspaceFolders: [work] });
    try {
      const loaded = await s.conn.sendRequest(LoadModelRequest, {});
      assert.ok(loaded.model.startsWith(cache), `resolved into the cache: ${loaded.model}`);
      const uri = fileUri(path.join(work, 'a.py'));
      await s.open(uri, 'def add(a, b):\n', 'python');
      assert.ok((await s.items(uri, { line: 1, character: 0 })).length > 0);
      const e = await responseError(s.conn.sendRequest(LoadModelRequest, { model: 'acme/not-downloaded' }));
      assert.equal(dataCode(e), 'HUB_OFFLINE');
      assert.match(e.message, /codetune download acme\/not-downloaded/);
      assert.ok((await s.items(uri, { line: 1, character: 0 })).length > 0, 'the current model keeps serving');
    } finally {
      await s.stop();
    }
  });
});
