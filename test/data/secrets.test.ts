// Secret rules: every kind is found and replaced by its placeholder; look-alikes
// (UUIDs, lockfile hashes, placeholders, ordinary names) are left alone.
// Fake secrets are generated at run time so that none sits in the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entropy, isSecretName, placeholder, redactSecrets, type SecretKind } from '../../server/data/secrets';
import { B64, fake, plantedSecrets } from './fakes';

function check(text: string, expected: Partial<Record<SecretKind, number>>, gone: string[] = []): string {
  const r = redactSecrets(text);
  assert.deepEqual(r.counts, expected);
  for (const s of gone) {
    assert.ok(!r.text.includes(s), 'the secret is still in the text');
  }
  for (const k of Object.keys(expected) as SecretKind[]) {
    assert.ok(r.text.includes(placeholder(k)), `no placeholder for ${k}`);
  }
  return r.text;
}

test('each secret kind is redacted to its typed placeholder', () => {
  for (const [kind, secret, text] of plantedSecrets()) {
    check(text, { [kind]: 1 }, [secret]);
  }
});

test('redaction keeps the code around the secret', () => {
  const [, pass, text] = plantedSecrets().find(([k]) => k === 'connection_string_password')!;
  assert.equal(check(text, { connection_string_password: 1 }, [pass]), 'DATABASE_URL: "postgres://admin:<REDACTED_CONNECTION_STRING_PASSWORD>@db.internal:5432/app"\n');
  const key = fake(24, undefined, 40);
  assert.equal(check(`const clientSecret = '${key}';`, { assigned_secret: 1 }, [key]), `const clientSecret = '<REDACTED_ASSIGNED_SECRET>';`);
});

test('connection strings: every line that holds one, several on a line, at the first and last line', () => {
  const [p1, p2, p3] = [fake(16, undefined, 41), fake(16, undefined, 42), fake(16, undefined, 43)];
  const text = [`redis://default:${p1}@cache`, '// see https://example.com/docs (no credentials)', `a = "mysql://u:${p2}@h1" + "amqp://w:${p3}@h2"`, `last: postgres://x:${p1}@h3`].join('\n');
  const out = check(text, { connection_string_password: 4 }, [p1, p2, p3]);
  const P = placeholder('connection_string_password');
  assert.equal(out, [`redis://default:${P}@cache`, '// see https://example.com/docs (no credentials)', `a = "mysql://u:${P}@h1" + "amqp://w:${P}@h2"`, `last: postgres://x:${P}@h3`].join('\n'));
});

test('secrets in config formats: JSON, YAML, .properties, INI', () => {
  const v = fake(20, undefined, 41) + '9';
  check(`{"db": {"password": "${v}"}}`, { assigned_secret: 1 }, [v]);
  check(`auth:\n  token: ${v}\n`, { assigned_secret: 1 }, [v]);
  check(`db.password=${v}\n`, { assigned_secret: 1 }, [v]);
  check(`[prod]\nSECRET_KEY = ${v}\n`, { assigned_secret: 1 }, [v]);
});

test('an assignment inside a string literal (escaped quotes) is still found', () => {
  const v = fake(28, undefined, 48);
  check(`const example = "api_key = \\"${v}\\"\\n";`, { assigned_secret: 1 }, [v]);
  check(`const cfg = 'password: ${v}9';`, { assigned_secret: 1 }, [v]);
});

test('an unterminated private key block is still redacted to the end', () => {
  const body = fake(64, B64, 42);
  check(`-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n`, { private_key: 1 }, [body]);
});

test('false positives: UUIDs, hashes, placeholders, env lookups and ordinary names are kept', () => {
  const cases = [
    'const id = "123e4567-e89b-12d3-a456-426614174000";',
    'token = "123e4567-e89b-12d3-a456-426614174000"',
    '"integrity": "sha512-' + fake(86, B64, 43) + '=="',
    'resolved "https://registry.yarnpkg.com/a/-/a-1.0.0.tgz#' + fake(40, '0123456789abcdef', 44) + '"',
    'const commit = "' + fake(40, '0123456789abcdef', 45) + '";',
    'password = "changeme"',
    'password: changeme123',
    'DB_PASSWORD = "${DB_PASSWORD}"',
    'api_key = "<your-api-key>"',
    'apiKey: process.env.API_KEY,',
    'token = os.environ["TOKEN"]',
    'SECRET_KEY = getenv("SECRET_KEY")',
    'secret = "xxxxxxxxxxxxxxxx"',
    'password = "********"',
    'const tokenizer = "' + fake(24, undefined, 46) + '";',
    'const passwordField = "' + fake(24, undefined, 47) + '";',
    'url = "postgres://user:${PASSWORD}@localhost/db"',
    'url = "https://user:password@example.com/"',
    'a URL of the form scheme://user:pass@host',
    'const tokenType = "bearer_token_type";',
    'AKIAIOSFODNN7EXAMPL',
    'const ghp = "ghp_short";',
  ];
  for (const text of cases) {
    const r = redactSecrets(text);
    assert.deepEqual(r.counts, {}, text);
    assert.equal(r.text, text);
  }
});

test('secret names and entropy', () => {
  for (const n of ['password', 'db_password', 'DB_PASSWORD', 'accessToken', 'api_key', 'API_KEY', 'apiKey', 'client_secret', 'SECRET_KEY', 'auth.token', 'privateKey']) {
    assert.equal(isSecretName(n), true, n);
  }
  for (const n of ['tokenizer', 'tokenCount', 'passwordField', 'secretName', 'key', 'monkey', 'primaryKey', 'keyboard']) {
    assert.equal(isSecretName(n), false, n);
  }
  assert.equal(entropy('aaaa'), 0);
  assert.equal(entropy('abcd'), 2);
});
