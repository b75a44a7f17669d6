import { defineErrorCodes, fail, type TollgateError } from '../kernel/errors.js';
import { problemField, type CatalogProblem } from './model.js';

/** Every expected failure of the catalog: definitions, versions, lookups and catalog files. */
export const CatalogErrors = defineErrorCodes('catalog', {
  invalid_definition: { kind: 'validation', title: 'Invalid catalog definition' },
  invalid_file: { kind: 'validation', title: 'Invalid catalog file' },
  unsupported_currency: { kind: 'validation', title: 'Currency not supported by the offer' },
  negative_amount: { kind: 'validation', title: 'Negative amount' },
  invalid_version_range: { kind: 'validation', title: 'Invalid version range' },
  version_overlap: { kind: 'validation', title: 'Overlapping versions' },
  version_gap: { kind: 'validation', title: 'Gap between versions' },
  version_started: { kind: 'conflict', title: 'Version already in force' },
  version_not_draft: { kind: 'conflict', title: 'Version is not a draft' },
  version_not_correctable: { kind: 'conflict', title: 'Version cannot be corrected' },
  no_version_in_force: { kind: 'not_found', title: 'No version in force' },
  version_not_found: { kind: 'not_found', title: 'Version not found' },
  product_not_found: { kind: 'not_found', title: 'Product not found' },
  offer_not_found: { kind: 'not_found', title: 'Offer not found' },
  price_not_found: { kind: 'not_found', title: 'Price not found' },
  tariff_not_found: { kind: 'not_found', title: 'Tariff not found' },
  category_not_found: { kind: 'not_found', title: 'Category not found' },
  catalog_not_found: { kind: 'not_found', title: 'Catalog not found' },
  code_taken: { kind: 'conflict', title: 'Code already in use' },
  in_use: { kind: 'conflict', title: 'Still referenced' },
  price_read_only: { kind: 'conflict', title: 'Price belongs to an offer version' },
  invalid_rate_deck: { kind: 'validation', title: 'Invalid rate deck' },
  invalid_usage_sample: { kind: 'validation', title: 'Invalid usage sample' },
});

/**
 * One error for a list of problems: its code is the most specific one the problems share (a
 * currency the offer does not sell in, a negative amount, overlapping versions...), its detail
 * names the first problem with its place, and `errors` lists every problem as `file#/pointer`.
 */
export function catalogProblemsError(problems: readonly CatalogProblem[], summary?: string): TollgateError {
  const first = problems[0];
  if (first === undefined) throw new RangeError('catalogProblemsError needs at least one problem');
  const code = first.code === undefined ? CatalogErrors.invalid_definition : CatalogErrors[first.code];
  const where = problemField(first);
  const more =
    problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return fail(code, `${summary === undefined ? '' : `${summary}: `}${where}: ${first.message}${more}`, {
    field: where,
    ...(first.file !== undefined ? { record: first.file } : {}),
    errors: problems.map((problem) => ({
      field: problemField(problem),
      message: problem.line === undefined ? problem.message : `line ${problem.line}: ${problem.message}`,
    })),
  });
}
