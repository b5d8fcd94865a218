/**
 * Errors that cross process boundaries (CLI exit, HTTP, NATS) carry a stable code.
 * Codes are never reused for another meaning; test/unit/api/errors.test.ts checks they are unique.
 */
export const ErrorCode = {
  InvalidArgument: 'TSS_INVALID_ARGUMENT',
  NotFound: 'TSS_NOT_FOUND',
  Conflict: 'TSS_CONFLICT',
  InUse: 'TSS_IN_USE',
  OutOfSequence: 'TSS_OUT_OF_SEQUENCE',
  Unavailable: 'TSS_UNAVAILABLE',
  PermissionDenied: 'TSS_PERMISSION_DENIED',
  Internal: 'TSS_INTERNAL',
  NotLeader: 'TSS_NOT_LEADER',
  LeadershipLost: 'TSS_LEADERSHIP_LOST',
  DataCorrupt: 'TSS_DATA_CORRUPT',
  /** The container's command does not exist (docker exits 127). */
  CommandNotFound: 'TSS_COMMAND_NOT_FOUND',
  /** The container's command exists but cannot be run (docker exits 126). */
  CommandNotRunnable: 'TSS_COMMAND_NOT_RUNNABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Shape of an error on the wire (HTTP bodies, NATS replies). */
export interface WireError {
  code: ErrorCode;
  message: string;
}

export class TsswarmError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TsswarmError';
    this.code = code;
  }
  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}

export const invalidArgument = (message: string, cause?: unknown): TsswarmError =>
  new TsswarmError(ErrorCode.InvalidArgument, message, { cause });
export const notFound = (message: string): TsswarmError =>
  new TsswarmError(ErrorCode.NotFound, message);
export const conflict = (message: string): TsswarmError =>
  new TsswarmError(ErrorCode.Conflict, message);
export const inUse = (message: string): TsswarmError => new TsswarmError(ErrorCode.InUse, message);

export function fromWire(e: WireError): TsswarmError {
  return new TsswarmError(e.code, e.message);
}
