/**
 * The one error class of lsm-rust. Every failure a caller can see is an
 * {@link LsmError} whose {@link LsmError.code} is one of {@link ErrorCode}; the
 * codes are stable and safe to branch on.
 */

/** Stable error codes. Never rename one: callers branch on them. */
export type ErrorCode =
  | 'LOCKED'
  | 'CLOSED'
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'CORRUPTION'
  | 'IO_ERROR'
  | 'NOT_SUPPORTED'

/** The error thrown or rejected by every lsm-rust operation. */
export class LsmError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode
  /** The file the error concerns, when there is one. */
  readonly file?: string

  constructor(code: ErrorCode, message: string, options?: { file?: string; cause?: unknown }) {
    super(options?.file !== undefined ? `${message} (${options.file})` : message,
      options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = 'LsmError'
    this.code = code
    if (options?.file !== undefined) this.file = options.file
  }
}

/** A corruption error naming the damaged file. */
export function corruption(file: string, message: string): LsmError {
  return new LsmError('CORRUPTION', `corruption: ${message}`, { file })
}

/** An invalid-argument error. */
export function invalidArgument(message: string): LsmError {
  return new LsmError('INVALID_ARGUMENT', message)
}
