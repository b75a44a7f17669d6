/**
 * The Diameter face's closed set of error codes for its own operations (sending a RAR, the
 * client's requests). Malformed input from a peer is not among them: that is answered on the wire
 * with a Result-Code (DiameterDecodeError in codec.ts), never raised to a caller.
 */
import { defineErrorCodes } from '../../kernel/errors.js';

export const DiameterErrors = defineErrorCodes('diameter', {
  peer_not_connected: { kind: 'unavailable', title: 'Diameter peer not connected' },
  request_timeout: { kind: 'unavailable', title: 'Diameter request timed out' },
  connection_closed: { kind: 'unavailable', title: 'Diameter connection closed' },
  capabilities_rejected: { kind: 'unavailable', title: 'Diameter capabilities exchange rejected' },
  invalid_answer: { kind: 'unavailable', title: 'Invalid Diameter answer' },
  invalid_config: { kind: 'config', title: 'Invalid Diameter configuration' },
});
