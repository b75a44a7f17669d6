import { defineErrorCodes } from '../kernel/errors.js';

/** Every expected failure of usage mediation, as a whole request or job (single records become rejects). */
export const UsageErrors = defineErrorCodes('usage', {
  invalid_source: { kind: 'validation', title: 'Invalid usage source definition' },
  source_not_found: { kind: 'not_found', title: 'Usage source not found' },
  import_not_found: { kind: 'not_found', title: 'Usage import not found' },
  reject_not_found: { kind: 'not_found', title: 'Reject not found' },
  usage_not_found: { kind: 'not_found', title: 'Rated usage not found' },
  already_imported: { kind: 'conflict', title: 'File already imported' },
  import_running: { kind: 'conflict', title: 'Import already running' },
  /** The database or the disk failed mid-import; what was committed is kept and a rerun resumes. */
  import_interrupted: { kind: 'unavailable', title: 'Import interrupted' },
  file_unreadable: { kind: 'validation', title: 'Usage file cannot be read' },
  invalid_usage: { kind: 'validation', title: 'Invalid usage record' },
  invalid_rerate: { kind: 'validation', title: 'Invalid re-rating request' },
  reject_closed: { kind: 'conflict', title: 'Reject already resolved' },
});
