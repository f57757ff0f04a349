// Fake secrets for tests, generated at run time so that none sits in the source.
import type { SecretKind } from '../../server/data/secrets';

/** A deterministic random string over `alphabet`. */
export function fake(len: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', seed = 7): string {
  let s = seed;
  let out = '';
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out += alphabet[(s >>> 8) % alphabet.length];
  }
  return out;
}

export const UPPER32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
export const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** One planted secret per kind: [kind, the secret value, text that contains it]. */
export function plantedSecrets(): Array<[SecretKind, string, string]> {
  const pemBody = fake(64, B64, 3) + '\n' + fake(64, B64, 4);
  const aws = 'AKIA' + fake(16, UPPER32, 11);
  const awsSecret = fake(40, B64, 12);
  const gh = 'ghp_' + fake(36, undefined, 13);
  const gl = 'glpat-' + fake(20, undefined, 14);
  const slack = 'xoxb-' + fake(12, '0123456789', 15) + '-' + fake(24, undefined, 16);
  const stripe = 'sk_live_' + fake(24, undefined, 17);
  const google = 'AIza' + fake(35, B64URL, 18);
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJ' + fake(30, B64URL, 19) + '.' + fake(43, B64URL, 20);
  const dbPass = fake(14, undefined, 21) + '!x';
  const apiKey = fake(32, undefined, 22);
  return [
    ['private_key', pemBody, `const KEY = \`-----BEGIN RSA PRIVATE KEY-----\n${pemBody}\n-----END RSA PRIVATE KEY-----\`;\n`],
    ['aws_access_key_id', aws, `aws_access_key_id = ${aws}\n`],
    ['aws_secret_access_key', awsSecret, `aws_secret_access_key = ${awsSecret}\n`],
    ['github_token', gh, `const token = process.env.T || "${gh}";\n`],
    ['gitlab_token', gl, `GITLAB = '${gl}'\n`],
    ['slack_token', slack, `slack: ${slack}\n`],
    ['stripe_key', stripe, `stripe.setKey("${stripe}");\n`],
    ['google_api_key', google, `const maps = "${google}";\n`],
    ['jwt', jwt, `headers.Authorization = "Bearer ${jwt}";\n`],
    ['connection_string_password', dbPass, `DATABASE_URL: "postgres://admin:${dbPass}@db.internal:5432/app"\n`],
    ['assigned_secret', apiKey, `api_key = "${apiKey}"\n`],
  ];
}
