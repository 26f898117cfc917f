/**
 * Typed domain errors. Domain code throws these with a stable code; the HTTP layer maps `kind` to a
 * status once (http/error-handler.ts). Messages are written for the client: never put secrets,
 * identifiers of other tenants or internal details in them.
 */
export type ErrorKind =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  /** A plan limit is reached: the tenant must upgrade (or wait for the next period). */
  | 'payment_required'
  | 'not_found'
  | 'conflict'
  | 'gone'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'locked'
  | 'unavailable'
  | 'internal';

export interface ErrorDetail {
  field?: string;
  message: string;
  [key: string]: unknown;
}

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details: ErrorDetail[] | undefined;
  /** Seconds after which a retry may succeed (rate limits, lockouts, overload). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    kind: ErrorKind,
    code: string,
    message: string,
    opts: { details?: ErrorDetail[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.code = code;
    this.details = opts.details;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

export const notFound = (code: string, what: string): AppError => new AppError('not_found', code, `${what} was not found.`);
export const validation = (code: string, message: string, details?: ErrorDetail[]): AppError =>
  new AppError('validation', code, message, details ? { details } : {});
export const conflict = (code: string, message: string): AppError => new AppError('conflict', code, message);
