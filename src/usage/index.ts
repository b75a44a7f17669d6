/**
 * Usage mediation: the normalised usage record, source definitions, the readers of each format,
 * deduplication keys, and the reject reasons. Pure, apart from the readers' file helpers.
 */
export * from './model.js';
export * from './errors.js';
export * from './source.js';
export * from './dedup.js';
export * from './detail.js';
