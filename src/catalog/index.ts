/**
 * The catalog domain's public module: products, offers and their versions, prices, allowances,
 * promotions, tariffs and their versions, categories and catalogs; the pure rules that check
 * them; catalog files (catalog as code) and their diff; and the tariff core (validate, compile,
 * charge, rate decks).
 */
export * from './model.js';
export * from './errors.js';
export * from './versions.js';
export * from './offer-rules.js';
export * from './catalog-file.js';
export * from './diff.js';
export * from './tariff/index.js';
