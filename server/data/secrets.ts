// Secrets: find credentials and replace them with typed placeholders, before
// anything is cached, written or tokenized. Only kinds and counts leave this
// module; a secret value never does (not in results, stats, logs or errors).
//
// Rules are our own (see docs/DATA.md for why no registry detector was used):
// well-known token formats first, then high-entropy values assigned to
// secret-like names. Each rule has tests, including false positives.

export type SecretKind =
  | 'private_key'
  | 'aws_access_key_id'
  | 'aws_secret_access_key'
  | 'github_token'
  | 'gitlab_token'
  | 'slack_token'
  | 'slack_webhook'
  | 'stripe_key'
  | 'google_api_key'
  | 'jwt'
  | 'connection_string_password'
  | 'assigned_secret';

export const placeholder = (kind: SecretKind): string => `<REDACTED_${kind.toUpperCase()}>`;

interface TokenRule {
  kind: SecretKind;
  re: RegExp;
  /** Cheap substring test before the regex runs. */
  hint: RegExp;
  /** Capture group holding the secret (0: whole match). */
  group?: number;
  /**
   * A string in every match, where no match spans lines: only the lines that hold it
   * are scanned (the same matches; a regex that starts with a word boundary scans
   * every word of a file otherwise, and URLs in comments are common).
   */
  inLine?: string;
}

const TOKEN_RULES: TokenRule[] = [
  {
    kind: 'private_key',
    hint: /PRIVATE KEY/,
    re: /-----BEGIN ((?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY( BLOCK)?-----|$(?![\s\S]))/g,
  },
  { kind: 'aws_access_key_id', hint: /A[SKBC][IC]A/, re: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b/g },
  {
    kind: 'aws_secret_access_key',
    hint: /aws|secret_access/i,
    re: /(\b(?:aws_?)?secret_?(?:access_?)?key(?:_id)?\b["']?\s*(?:[:=]|=>|:=)\s*["']?)([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: 2,
  },
  { kind: 'github_token', hint: /gh[pousr]_|github_pat_/, re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})\b/g },
  { kind: 'gitlab_token', hint: /gl(?:pat|dt|rt|ptt|cbt)-/, re: /\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_-]{20,}/g },
  { kind: 'slack_webhook', hint: /hooks\.slack\.com/, re: /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9+/_-]{20,}/g },
  { kind: 'slack_token', hint: /xox[abposr]-/, re: /\bxox[abposr]-[0-9A-Za-z-]{10,250}/g },
  { kind: 'stripe_key', hint: /[sr]k_(?:live|test)_/, re: /\b[sr]k_(?:live|test)_[0-9A-Za-z]{20,247}\b/g },
  { kind: 'google_api_key', hint: /AIza/, re: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  { kind: 'jwt', hint: /eyJ/, re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g },
  {
    kind: 'connection_string_password',
    hint: /:\/\//,
    re: /(\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}:\/\/[^\s:/@'"`<>]{1,100}:)([^\s@/'"`<>]{1,200})(@[A-Za-z0-9.[\]_-])/g,
    group: 2,
    inLine: '://',
  },
];

/** Any rule's hint (case-insensitive: it may match more, never less): a text without one skips them all. */
const TOKEN_HINT = new RegExp(TOKEN_RULES.map((r) => r.hint.source).join('|'), 'i');

/** `text.replace(re, fn)`, scanning only the lines that hold `needle` (for rules whose matches hold it and never span lines). */
function replaceInLines(text: string, needle: string, re: RegExp, fn: (...m: string[]) => string): string {
  const parts: string[] = [];
  let last = 0;
  for (let at = text.indexOf(needle); at >= 0; ) {
    const ls = text.lastIndexOf('\n', at) + 1;
    const nl = text.indexOf('\n', at);
    const le = nl < 0 ? text.length : nl;
    re.lastIndex = 0;
    parts.push(text.slice(last, ls), text.slice(ls, le).replace(re, fn));
    last = le;
    at = text.indexOf(needle, le);
  }
  if (last === 0) {
    return text;
  }
  parts.push(text.slice(last));
  return parts.join('');
}

/** Values that mark a placeholder, not a real credential. */
const PLACEHOLDER = /^(?:changeme|change_?me|password|passwd|pass|pwd|user|username|secret|xxx+|x+|\*+|\.+|-+|_+|null|none|nil|undefined|true|false|todo|tbd|dummy|example|sample|test|testing|fake|mock|placeholder|default|redacted|hunter2)$/i;
const PLACEHOLDER_PART = /changeme|change_me|your[_-]|<[^>]*>|\$\{|\{\{|%\(|\$[A-Z_]{2,}|example|placeholder|redacted|dummy|xxxx|\*\*\*|process\.env|os\.environ|getenv/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) {
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let h = 0;
  const n = [...s].length;
  for (const c of counts.values()) {
    const p = c / n;
    h -= p * Math.log2(p);
  }
  return h;
}

function isPlaceholder(v: string): boolean {
  return PLACEHOLDER.test(v) || PLACEHOLDER_PART.test(v) || UUID.test(v) || /^(.)\1*$/.test(v);
}

/** Name words that mark the assigned value as a secret (last word of the name, or its last two). */
const SECRET_LAST = new Set(['password', 'passwd', 'pwd', 'pass', 'secret', 'token', 'apikey', 'passphrase', 'credential', 'credentials']);
const KEY_OWNERS = new Set(['api', 'access', 'secret', 'private', 'auth', 'client', 'signing', 'encryption', 'master']);

export function isSecretName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
  if (words.length === 0) {
    return false;
  }
  const last = words[words.length - 1];
  const prev = words.length > 1 ? words[words.length - 2] : '';
  if (SECRET_LAST.has(last)) {
    return true;
  }
  return (last === 'key' || last === 'secret') && KEY_OWNERS.has(prev);
}

/** name = "value", name: 'value', name => "value", NAME=value (config files). */
const ASSIGN = /([A-Za-z_][A-Za-z0-9_.-]{1,60})(["']?)[ \t]*(?::=|=>|=|:)[ \t]*(?:\\?(["'`])([^"'`\n\\]{8,200})\\?\3|([^\s"'`,;#(){}[\]]{8,200})(?=[\s,;#"'`\\]|$))/gm;
const ASSIGN_HINT = /pass|pwd|secret|token|key|credential/i;

function isHighEntropy(v: string, quoted: boolean): boolean {
  if (v.length < 8 || isPlaceholder(v)) {
    return false;
  }
  if (!quoted) {
    // A bare value in code is usually an expression (a.b.c, CONSTANT_NAME); in config it is a literal.
    if (/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(v) && !/\d/.test(v)) {
      return false;
    }
  }
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(v)).length;
  return classes >= 2 && entropy(v) >= (v.length >= 20 ? 3.5 : 3.0);
}

export interface RedactResult {
  text: string;
  counts: Partial<Record<SecretKind, number>>;
}

/** Replace every secret in `text` with its typed placeholder. */
export function redactSecrets(text: string): RedactResult {
  const counts: Partial<Record<SecretKind, number>> = {};
  const bump = (k: SecretKind): void => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  let out = text;
  for (const rule of TOKEN_HINT.test(text) ? TOKEN_RULES : []) {
    if (!rule.hint.test(out)) {
      continue;
    }
    const redact = (...m: string[]): string => {
      const g = rule.group ?? 0;
      if (rule.kind === 'connection_string_password' && isPlaceholder(m[2])) {
        return m[0];
      }
      bump(rule.kind);
      if (g === 0) {
        return placeholder(rule.kind);
      }
      return m[1] + placeholder(rule.kind) + (m[3] ?? '');
    };
    rule.re.lastIndex = 0;
    out = rule.inLine ? replaceInLines(out, rule.inLine, rule.re, redact) : out.replace(rule.re, redact);
  }
  if (ASSIGN_HINT.test(out)) {
    // An assignment never spans lines, and a secret-like name holds a hint word, so only
    // lines with a hint word are scanned (the same matches as scanning the whole text).
    // Within a line, a manual scan: after a match whose name is not secret-like, resume
    // right after the name, so `x = "api_key = '...'"` still finds the inner assignment.
    const parts: string[] = [];
    let last = 0;
    const hints = new RegExp(ASSIGN_HINT.source, 'gi');
    let h: RegExpExecArray | null;
    while ((h = hints.exec(out)) !== null) {
      const ls = out.lastIndexOf('\n', h.index) + 1;
      const nl = out.indexOf('\n', h.index);
      const le = nl < 0 ? out.length : nl;
      hints.lastIndex = le;
      const line = out.slice(ls, le);
      ASSIGN.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = ASSIGN.exec(line)) !== null) {
        const [whole, name, , , quotedVal, bareVal] = m;
        const value = quotedVal ?? bareVal ?? '';
        if (!isSecretName(name) || value.includes('<REDACTED_') || !isHighEntropy(value, quotedVal !== undefined)) {
          ASSIGN.lastIndex = m.index + Math.max(1, name.length);
          continue;
        }
        bump('assigned_secret');
        const at = ls + m.index + whole.lastIndexOf(value);
        parts.push(out.slice(last, at), placeholder('assigned_secret'));
        last = at + value.length;
        ASSIGN.lastIndex = last - ls;
      }
    }
    parts.push(out.slice(last));
    out = parts.join('');
  }
  return { text: out, counts };
}

export function addCounts(into: Record<string, number>, from: Partial<Record<string, number>> | undefined): void {
  for (const [k, v] of Object.entries(from ?? {})) {
    into[k] = (into[k] ?? 0) + (v ?? 0);
  }
}
