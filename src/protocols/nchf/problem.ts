/**
 * Errors of the Nchf face, as TS 29.571 ProblemDetails documents.
 *
 * This face does not use the project's own problem documents (src/api/problem.ts): the callers are
 * 5G network functions, which read the 3GPP `cause` attribute and `invalidParams`, not Tollgate's
 * `code`. The statuses and causes come from two tables:
 * - TS 32.291 table 6.1.7.3-1, the application errors of this API (`CHARGING_APPLICATION_ERRORS`);
 * - TS 29.500 table 5.2.7.2-1, the protocol errors common to every 5G service API (`PROTOCOL_ERRORS`).
 */
import type { InvalidParam, ProblemDetails } from './model.js';

/** TS 32.291 table 6.1.7.3-1: the application errors of Nchf_ConvergedCharging and their status. */
export const CHARGING_APPLICATION_ERRORS = {
  /** Information the CHF needs for charging is missing or wrong (a rating group, the subscriber). */
  CHARGING_FAILED: 400,
  /** Information the consumer needs to report usage is missing or wrong. */
  RE_AUTHORIZATION_FAILED: 400,
  /** The service may go ahead without charging. */
  CHARGING_NOT_APPLICABLE: 403,
  /** The subscriber may not use the service (barred, no such product). */
  END_USER_REQUEST_DENIED: 403,
  /** The subscriber's credit is used up. */
  QUOTA_LIMIT_REACHED: 403,
  /** The subscriber is known but the request is refused (for example an account in the wrong state). */
  END_USER_REQUEST_REJECTED: 403,
  /** The subscriber is not known to the CHF. */
  USER_UNKNOWN: 404,
} as const;
export type ChargingApplicationError = keyof typeof CHARGING_APPLICATION_ERRORS;

/** TS 29.500 table 5.2.7.2-1: the protocol errors this face sends, with their status. */
export const PROTOCOL_ERRORS = {
  INVALID_API: 400,
  INVALID_MSG_FORMAT: 400,
  MANDATORY_IE_INCORRECT: 400,
  OPTIONAL_IE_INCORRECT: 400,
  MANDATORY_IE_MISSING: 400,
  RESOURCE_URI_STRUCTURE_NOT_FOUND: 404,
  SYSTEM_FAILURE: 500,
  NF_CONGESTION: 503,
} as const;
export type ProtocolError = keyof typeof PROTOCOL_ERRORS;

/**
 * The cause sent with 404 for a ChargingDataRef the CHF does not hold. Neither TS 32.291 nor
 * TS 29.500 names one; CONTEXT_NOT_FOUND is the name other 5G service APIs (TS 29.502, 29.503,
 * 29.518) give to a context resource that does not exist, so consumers already map it.
 */
export const CHARGING_DATA_NOT_FOUND_CAUSE = 'CONTEXT_NOT_FOUND';

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  411: 'Length Required',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The reason phrase of an HTTP status, for a problem's title. */
export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

/** A problem document with the given status, cause and detail, titled by the status. */
export function problem(
  status: number,
  detail: string,
  cause?: string,
  invalidParams?: readonly InvalidParam[],
): ProblemDetails {
  return {
    title: statusTitle(status),
    status,
    detail,
    ...(cause !== undefined ? { cause } : {}),
    ...(invalidParams !== undefined && invalidParams.length > 0 ? { invalidParams } : {}),
  };
}

/**
 * What a handler returns instead of a response when the charging core refuses the request: the
 * HTTP status and the problem document to send. Build it with `chargingFailure`.
 */
export interface ChargingFailure {
  readonly ok: false;
  readonly status: number;
  readonly problem: ProblemDetails;
}

/**
 * A refusal with one of the application errors of TS 32.291 table 6.1.7.3-1, at the status the
 * table gives it: `chargingFailure('QUOTA_LIMIT_REACHED', 'the balance is used up')` → 403.
 */
export function chargingFailure(
  cause: ChargingApplicationError,
  detail: string,
  invalidParams?: readonly InvalidParam[],
): ChargingFailure {
  const status = CHARGING_APPLICATION_ERRORS[cause];
  return { ok: false, status, problem: problem(status, detail, cause, invalidParams) };
}

/** The refusal for a ChargingDataRef that names no charging session (404). */
export function chargingDataNotFound(ref: string): ChargingFailure {
  return {
    ok: false,
    status: 404,
    problem: problem(404, `no charging data resource ${ref}`, CHARGING_DATA_NOT_FOUND_CAUSE),
  };
}
