export * from './roles.js';
export * from './errors.js';
export * from './model.js';
export { parseKey, secretMatches } from './api-key.js';
export { signToken, verifyToken, type TokenClaims } from './token.js';
