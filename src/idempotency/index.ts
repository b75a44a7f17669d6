export * from './errors.js';
export { requestHash, IDEMPOTENCY_KEY_PATTERN } from './request-hash.js';
export {
  findStoredResponse,
  insertStoredResponse,
  purgeStoredResponses,
  type StoredResponse,
} from './store.js';
