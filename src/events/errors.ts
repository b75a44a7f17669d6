import { defineErrorCodes } from '../kernel/errors.js';

export const EventsErrors = defineErrorCodes('events', {
  subscription_not_found: { kind: 'not_found', title: 'Webhook subscription not found' },
  delivery_not_found: { kind: 'not_found', title: 'Webhook delivery not found' },
  invalid_url: { kind: 'validation', title: 'Invalid webhook URL' },
  invalid_event_type: { kind: 'validation', title: 'Invalid event type' },
  invalid_description: { kind: 'validation', title: 'Invalid webhook description' },
  invalid_status: { kind: 'validation', title: 'Invalid webhook subscription status' },
  delivery_not_retryable: { kind: 'conflict', title: 'Only a failed delivery can be retried' },
});
