/**
 * The customers domain: customers, billing accounts (trees, payers, preferences, credit) and
 * subscriptions (offer instances with dated service identities, add-ons, plan changes and a
 * status history). Its store and migrations are reached by workflows and the composition root only.
 */
export * from './model.js';
export * from './errors.js';
export * from './identities.js';
export * from './lifecycle.js';
