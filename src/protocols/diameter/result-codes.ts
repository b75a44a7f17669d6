/**
 * Diameter Result-Code values: RFC 6733 section 7.1 (base protocol) and RFC 4006 section 9 as
 * kept by RFC 8506 (credit control). The first digit is the class: 2xxx success, 3xxx protocol
 * error, 4xxx transient failure, 5xxx permanent failure.
 */
export const ResultCode = {
  // 2xxx: success (RFC 6733 section 7.1.2).
  DIAMETER_SUCCESS: 2001,
  DIAMETER_LIMITED_SUCCESS: 2002,

  // 3xxx: protocol errors (RFC 6733 section 7.1.3). Answers carrying them have the E bit set.
  DIAMETER_COMMAND_UNSUPPORTED: 3001,
  DIAMETER_UNABLE_TO_DELIVER: 3002,
  DIAMETER_REALM_NOT_SERVED: 3003,
  DIAMETER_TOO_BUSY: 3004,
  DIAMETER_LOOP_DETECTED: 3005,
  DIAMETER_REDIRECT_INDICATION: 3006,
  DIAMETER_APPLICATION_UNSUPPORTED: 3007,
  DIAMETER_INVALID_HDR_BITS: 3008,
  DIAMETER_INVALID_AVP_BITS: 3009,
  DIAMETER_UNKNOWN_PEER: 3010,

  // 4xxx: transient failures (RFC 6733 section 7.1.4, RFC 4006 section 9.1).
  DIAMETER_AUTHENTICATION_REJECTED: 4001,
  DIAMETER_OUT_OF_SPACE: 4002,
  ELECTION_LOST: 4003,
  DIAMETER_END_USER_SERVICE_DENIED: 4010,
  DIAMETER_CREDIT_CONTROL_NOT_APPLICABLE: 4011,
  DIAMETER_CREDIT_LIMIT_REACHED: 4012,

  // 5xxx: permanent failures (RFC 6733 section 7.1.5, RFC 4006 section 9.1).
  DIAMETER_AVP_UNSUPPORTED: 5001,
  DIAMETER_UNKNOWN_SESSION_ID: 5002,
  DIAMETER_AUTHORIZATION_REJECTED: 5003,
  DIAMETER_INVALID_AVP_VALUE: 5004,
  DIAMETER_MISSING_AVP: 5005,
  DIAMETER_RESOURCES_EXCEEDED: 5006,
  DIAMETER_CONTRADICTING_AVPS: 5007,
  DIAMETER_AVP_NOT_ALLOWED: 5008,
  DIAMETER_AVP_OCCURS_TOO_MANY_TIMES: 5009,
  DIAMETER_NO_COMMON_APPLICATION: 5010,
  DIAMETER_UNSUPPORTED_VERSION: 5011,
  DIAMETER_UNABLE_TO_COMPLY: 5012,
  DIAMETER_INVALID_BIT_IN_HEADER: 5013,
  DIAMETER_INVALID_AVP_LENGTH: 5014,
  DIAMETER_INVALID_MESSAGE_LENGTH: 5015,
  DIAMETER_INVALID_AVP_BIT_COMBO: 5016,
  DIAMETER_NO_COMMON_SECURITY: 5017,
  DIAMETER_USER_UNKNOWN: 5030,
  DIAMETER_RATING_FAILED: 5031,
} as const;

export type ResultCodeName = keyof typeof ResultCode;

const NAMES = new Map<number, ResultCodeName>(
  Object.entries(ResultCode).map(([name, code]) => [code, name as ResultCodeName]),
);

/** The name of a result code, e.g. `DIAMETER_MISSING_AVP` for 5005; undefined for others. */
export function resultCodeName(code: number): ResultCodeName | undefined {
  return NAMES.get(code);
}

/**
 * Whether an answer with this result code must have the E bit set: protocol errors (3xxx) only,
 * RFC 6733 section 7.1.3 ("these errors MUST only be used in answer messages whose 'E' bit is set").
 */
export function isProtocolError(code: number): boolean {
  return code >= 3000 && code < 4000;
}
