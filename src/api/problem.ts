/**
 * Every API error leaves as an RFC 9457 problem document (application/problem+json). This is the
 * one place that turns errors into responses: our TollgateError by its kind (see kernel/errors.ts),
 * the framework's own errors (bad JSON, oversized body, schema validation) into the matching
 * TollgateError, and anything unexpected into a 500 that says nothing about the internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { CommonErrors, fail, isTollgateError, type TollgateError } from '../kernel/errors.js';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  retryable: boolean;
  requestId: string;
  field?: string;
  record?: string;
  errors?: ReadonlyArray<{ field: string; message: string }>;
  [extra: string]: unknown;
}

export function problemTypeUri(code: string): string {
  return `urn:tollgate:problem:${code}`;
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Describes one schema violation as field + reason, in words a caller can act on. */
function describeValidation(part: string, error: AjvError): { field: string; message: string } {
  let field = `/${part}${error.instancePath}`;
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'required') {
    field = `${field}/${String(error.params.missingProperty)}`;
    message = 'is required';
  } else if (error.keyword === 'additionalProperties') {
    field = `${field}/${String(error.params.additionalProperty)}`;
    message = 'is not a known field';
  } else if (error.keyword === 'type') {
    message = `must be ${String(error.params.type)}`;
  } else if (error.keyword === 'enum') {
    message = `must be one of ${(error.params.allowedValues as unknown[]).map(String).join(', ')}`;
  } else if (error.keyword === 'pattern') {
    message = 'has the wrong format';
  }
  return { field, message };
}

/** Maps a framework or library error to our error type. */
export function toTollgateError(error: unknown): TollgateError {
  if (isTollgateError(error)) return error;
  const e = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (Array.isArray(e?.validation)) {
    const part = e.validationContext ?? 'body';
    const errors = e.validation.map((v) => describeValidation(part, v));
    const first = errors[0]!;
    return fail(CommonErrors.invalid_input, `${first.field} ${first.message}`, {
      field: first.field,
      errors,
    });
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return fail(CommonErrors.payload_too_large, 'the request body is larger than this server accepts', {
        field: '/body',
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return fail(CommonErrors.unsupported_media_type, 'send the body as application/json', {
        field: 'Content-Type',
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return fail(CommonErrors.invalid_input, 'the body is empty but Content-Type says JSON', {
        field: '/body',
      });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return fail(CommonErrors.invalid_input, 'the body is not valid JSON', { field: '/body' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return fail(CommonErrors.invalid_input, 'Content-Length does not match the body', {
        field: 'Content-Length',
      });
    case 'FST_ERR_BAD_URL':
      return fail(CommonErrors.invalid_input, 'the URL is malformed', { field: 'url' });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return fail(CommonErrors.invalid_input, 'a path parameter of the URL is too long', { field: 'url' });
    default:
      break;
  }
  if (e instanceof SyntaxError || e?.statusCode === 400) {
    return fail(CommonErrors.invalid_input, 'the request is malformed', { field: '/body' });
  }
  if (e?.statusCode === 413) return fail(CommonErrors.payload_too_large, 'the request body is too large');
  if (e?.statusCode === 415) return fail(CommonErrors.unsupported_media_type, 'unsupported Content-Type');
  return fail(CommonErrors.internal, 'an internal error occurred; it has been logged with the request id', {
    cause: error,
  });
}

export function problemFor(error: TollgateError, request: FastifyRequest): ProblemDocument {
  return {
    ...(error.extra ?? {}),
    type: problemTypeUri(error.code),
    title: error.definition.title,
    status: error.httpStatus,
    detail: error.message,
    instance: request.url.split('?')[0] ?? request.url,
    code: error.code,
    retryable: error.retryable,
    requestId: String(request.id),
    ...(error.field !== undefined ? { field: error.field } : {}),
    ...(error.record !== undefined ? { record: error.record } : {}),
    ...(error.errors !== undefined ? { errors: error.errors } : {}),
  };
}

export function sendProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const mapped = toTollgateError(error);
  if (mapped.httpStatus >= 500) {
    request.log.error({ err: error, code: mapped.code }, 'request failed');
  } else {
    request.log.info({ code: mapped.code, field: mapped.field }, mapped.message);
  }
  if (mapped.code === 'common.rate_limited') reply.header('retry-after', '1');
  return reply.code(mapped.httpStatus).type('application/problem+json').send(problemFor(mapped, request));
}

/** The schema of a problem document, for the OpenAPI description of error responses. */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details',
  additionalProperties: true,
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string' },
    retryable: { type: 'boolean' },
    requestId: { type: 'string' },
    field: { type: 'string' },
    record: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

/**
 * The same error with its field (and the fields of its errors) renamed by `rename`: use cases name
 * fields in their own model, and a route answers with pointers into its request (docs/api.md).
 * Anything that is not a Tollgate error naming a field is returned as it is.
 */
export function withRenamedFields(error: unknown, rename: (field: string) => string): unknown {
  if (!isTollgateError(error) || (error.field === undefined && error.errors === undefined)) return error;
  return fail(error.definition, error.message, {
    ...(error.field !== undefined ? { field: rename(error.field) } : {}),
    ...(error.record !== undefined ? { record: error.record } : {}),
    ...(error.extra !== undefined ? { extra: error.extra } : {}),
    ...(error.errors !== undefined
      ? { errors: error.errors.map((e) => ({ ...e, field: rename(e.field) })) }
      : {}),
    ...(error.cause !== undefined ? { cause: error.cause } : {}),
  });
}
