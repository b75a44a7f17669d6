/**
 * Errors: one error type for the whole system, and one table that maps each kind of failure to an
 * HTTP status (RFC 9457 problem details) and a CLI exit code.
 *
 * Each domain declares its own closed set of codes with `defineErrorCodes`, in its errors.ts, so a
 * reader sees every expected outcome of that domain in one place. A code names a kind; the kind
 * decides the HTTP status and the exit code here and nowhere else.
 */

export type ErrorKind =
  | 'validation' // the input is wrong; retrying the same input fails the same way
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict' // the input is fine but clashes with the current state (duplicate, wrong status)
  | 'precondition' // an Idempotency-Key or version check failed
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable' // a dependency is down; retrying later may work
  | 'integrity' // stored data fails a check (broken audit chain, unbalanced ledger)
  | 'config' // the configuration is invalid
  | 'internal';

export interface KindMapping {
  readonly httpStatus: number;
  readonly exitCode: number;
  readonly retryable: boolean;
}

/** The single mapping from error kind to HTTP status and CLI exit code (sysexits.h where one fits). */
export const ERROR_KINDS: Readonly<Record<ErrorKind, KindMapping>> = {
  validation: { httpStatus: 400, exitCode: 65, retryable: false }, // EX_DATAERR
  unauthenticated: { httpStatus: 401, exitCode: 77, retryable: false }, // EX_NOPERM
  forbidden: { httpStatus: 403, exitCode: 77, retryable: false },
  not_found: { httpStatus: 404, exitCode: 66, retryable: false }, // EX_NOINPUT
  conflict: { httpStatus: 409, exitCode: 75, retryable: false },
  precondition: { httpStatus: 422, exitCode: 65, retryable: false },
  payload_too_large: { httpStatus: 413, exitCode: 65, retryable: false },
  unsupported_media_type: { httpStatus: 415, exitCode: 65, retryable: false },
  rate_limited: { httpStatus: 429, exitCode: 75, retryable: true }, // EX_TEMPFAIL
  unavailable: { httpStatus: 503, exitCode: 69, retryable: true }, // EX_UNAVAILABLE
  integrity: { httpStatus: 500, exitCode: 70, retryable: false }, // EX_SOFTWARE
  config: { httpStatus: 500, exitCode: 78, retryable: false }, // EX_CONFIG
  internal: { httpStatus: 500, exitCode: 70, retryable: false },
};

export interface ErrorCodeSpec {
  readonly kind: ErrorKind;
  /** A short, stable, human title; the detail of each occurrence goes in the error message. */
  readonly title: string;
  /** Overrides the kind's default when one code of a kind differs (e.g. a lock timeout). */
  readonly retryable?: boolean;
}

export interface ErrorCodeDefinition extends ErrorCodeSpec {
  /** Fully qualified code, `domain.name`, e.g. `kernel.invalid_amount`. */
  readonly code: string;
  readonly retryable: boolean;
}

const registry = new Map<string, ErrorCodeDefinition>();

/**
 * Declares a domain's closed set of error codes. Returns the definitions keyed by their short
 * name, so call sites read `throw fail(AuditErrors.chain_broken, ...)`.
 */
export function defineErrorCodes<const T extends Record<string, ErrorCodeSpec>>(
  domain: string,
  specs: T,
): { readonly [K in keyof T]: ErrorCodeDefinition } {
  const out: Record<string, ErrorCodeDefinition> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const code = `${domain}.${name}`;
    const definition: ErrorCodeDefinition = {
      ...spec,
      code,
      retryable: spec.retryable ?? ERROR_KINDS[spec.kind].retryable,
    };
    registry.set(code, definition);
    out[name] = definition;
  }
  return out as { readonly [K in keyof T]: ErrorCodeDefinition };
}

/** Every code declared so far (for the documentation generator and tests). */
export function registeredErrorCodes(): ErrorCodeDefinition[] {
  return [...registry.values()].sort((a, b) => a.code.localeCompare(b.code));
}

export interface ErrorContext {
  /** The input field at fault, as a JSON pointer or dotted path (`/body/currency`, `amount`). */
  readonly field?: string;
  /** The record at fault: an id, a file and line, a row number. */
  readonly record?: string;
  /** Extra machine-readable members for the problem document. Never secrets. */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Individual problems when one request has several (e.g. validation of many fields). */
  readonly errors?: ReadonlyArray<{ field: string; message: string }>;
  readonly cause?: unknown;
}

/** The one error type of the system. The message is the detail shown to the caller. */
export class TollgateError extends Error {
  readonly definition: ErrorCodeDefinition;
  readonly field: string | undefined;
  readonly record: string | undefined;
  readonly extra: Readonly<Record<string, unknown>> | undefined;
  readonly errors: ReadonlyArray<{ field: string; message: string }> | undefined;

  constructor(definition: ErrorCodeDefinition, detail: string, context: ErrorContext = {}) {
    super(detail, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'TollgateError';
    this.definition = definition;
    this.field = context.field;
    this.record = context.record;
    this.extra = context.extra;
    this.errors = context.errors;
  }

  get code(): string {
    return this.definition.code;
  }
  get kind(): ErrorKind {
    return this.definition.kind;
  }
  get retryable(): boolean {
    return this.definition.retryable;
  }
  get httpStatus(): number {
    return ERROR_KINDS[this.definition.kind].httpStatus;
  }
  get exitCode(): number {
    return ERROR_KINDS[this.definition.kind].exitCode;
  }
}

/** Builds (does not throw) an error: `throw fail(Codes.x, 'detail', { field })`. */
export function fail(definition: ErrorCodeDefinition, detail: string, context?: ErrorContext): TollgateError {
  return new TollgateError(definition, detail, context);
}

export function isTollgateError(value: unknown): value is TollgateError {
  return value instanceof TollgateError;
}

/** Codes shared by every layer (input validation, not found, internal). */
export const CommonErrors = defineErrorCodes('common', {
  invalid_input: { kind: 'validation', title: 'Invalid input' },
  not_found: { kind: 'not_found', title: 'Not found' },
  conflict: { kind: 'conflict', title: 'Conflict' },
  unauthenticated: { kind: 'unauthenticated', title: 'Authentication required' },
  forbidden: { kind: 'forbidden', title: 'Forbidden' },
  payload_too_large: { kind: 'payload_too_large', title: 'Payload too large' },
  unsupported_media_type: { kind: 'unsupported_media_type', title: 'Unsupported media type' },
  rate_limited: { kind: 'rate_limited', title: 'Too many requests' },
  unavailable: { kind: 'unavailable', title: 'Service unavailable' },
  internal: { kind: 'internal', title: 'Internal error' },
  invalid_config: { kind: 'config', title: 'Invalid configuration' },
});

/** Result values for expected outcomes that callers branch on rather than throw. */
export type Result<T, E = TollgateError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });
