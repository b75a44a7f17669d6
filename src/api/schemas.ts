/** JSON Schema pieces shared by routes. */
import { idPattern } from '../kernel/ids.js';

export const problemResponses = {
  400: { $ref: 'Problem#' },
  401: { $ref: 'Problem#' },
  403: { $ref: 'Problem#' },
  404: { $ref: 'Problem#' },
  409: { $ref: 'Problem#' },
  422: { $ref: 'Problem#' },
} as const;

export function idParams(prefix: string) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: { id: { type: 'string', pattern: idPattern(prefix), description: `A ${prefix}_ id` } },
  } as const;
}

export const pageQueryProperties = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'Page size' },
  after: { type: 'string', maxLength: 100, description: 'Cursor: the nextCursor of the previous page' },
} as const;

export function page<T extends { id: string }>(
  items: T[],
  limit: number,
): { items: T[]; nextCursor: string | null } {
  return { items, nextCursor: items.length === limit ? items[items.length - 1]!.id : null };
}

export function pageSchema(item: object) {
  return {
    type: 'object',
    properties: { items: { type: 'array', items: item }, nextCursor: { type: ['string', 'null'] } },
  } as const;
}

export const instantSchema = { type: 'string', format: 'date-time' } as const;
