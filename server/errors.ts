// Typed, expected failures. Every error a user can cause (a bad checkpoint, an adapter
// for another base, a missing repo, bad CLI usage) is a CodetuneError with a stable
// code and a message that says what to do. Anything else is a bug.
// Conversion to CLI output happens in cli.ts; to LSP errors in one place in the server.

export type ErrorCode =
  | 'USAGE'
  | 'NOT_FOUND'
  | 'IO'
  | 'DISK_FULL'
  | 'CANCELLED'
  | 'BACKEND_UNAVAILABLE'
  | 'SAFETENSORS_HEADER'
  | 'SAFETENSORS_JSON'
  | 'SAFETENSORS_OFFSETS'
  | 'SAFETENSORS_DTYPE'
  | 'SAFETENSORS_SIZE'
  | 'SAFETENSORS_MISSING_TENSOR'
  | 'PICKLE_WEIGHTS'
  | 'CHECKPOINT_MISSING'
  | 'CONFIG_INVALID'
  | 'CONFIG_UNSUPPORTED'
  | 'TOKENIZER_INVALID'
  | 'ADAPTER_INVALID'
  | 'ADAPTER_MISMATCH'
  | 'NOT_A_REPO'
  | 'EMPTY_REPO'
  | 'OUT_OF_MEMORY'
  | 'TRAINING_BUSY'
  | 'HUB_NOT_FOUND'
  | 'HUB_GATED'
  | 'HUB_OFFLINE'
  | 'HUB_HASH_MISMATCH'
  | 'HUB_HTTP'
  | (string & {});

export interface ErrorDetails {
  /** The file the problem is in, when there is one. */
  file?: string;
  /** The tensor (or other named item) the problem is in. */
  tensor?: string;
}

export class CodetuneError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly tensor?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'CodetuneError';
    this.code = code;
    this.file = details.file;
    this.tensor = details.tensor;
  }
}

export function isCodetuneError(e: unknown): e is CodetuneError {
  return e instanceof CodetuneError;
}

/** One line for a user: "file: message" when a file is known. Never a stack trace. */
export function describeError(e: unknown): string {
  if (isCodetuneError(e)) {
    return e.file && !e.message.includes(e.file) ? `${e.file}: ${e.message}` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Map a Node file-system error to a typed one (missing file, full disk, ...). */
export function fromFsError(e: unknown, file: string): CodetuneError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    return new CodetuneError('NOT_FOUND', `${file}: no such file or folder`, { file });
  }
  if (code === 'ENOSPC') {
    return new CodetuneError('DISK_FULL', `${file}: the disk is full; free some space and try again`, { file });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new CodetuneError('IO', `${file}: permission denied`, { file });
  }
  return new CodetuneError('IO', `${file}: ${e instanceof Error ? e.message : String(e)}`, { file });
}
