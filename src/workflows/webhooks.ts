/**
 * Use cases on webhook subscriptions and deliveries. Changing a subscription is a configuration
 * change: it is audited (without the secret) and announced as an event, in the same transaction.
 */
import { CommonErrors, fail } from '../kernel/errors.js';
import {
  createSubscription,
  deleteSubscription,
  EventsErrors,
  findDelivery,
  findSubscription,
  listAttempts,
  listDeliveries,
  listEvents,
  listSubscriptions,
  retryDelivery,
  rotateSubscriptionSecret,
  updateSubscription,
  findEvent,
  type DeliveryStatus,
  type DomainEvent,
  type NewSubscriptionInput,
  type SubscriptionChanges,
  type SubscriptionStatus,
  type SubscriptionWithSecret,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookSubscription,
} from '../events/index.js';
import { readExecutor, recordChange, runChange, type Caller, type WorkflowDeps } from './context.js';

export function createWebhookSubscription(
  deps: WorkflowDeps,
  caller: Caller,
  input: NewSubscriptionInput,
): Promise<SubscriptionWithSecret> {
  return runChange(deps, caller, async (ctx) => {
    const created = await createSubscription(ctx.tx, ctx.clock, ctx.tenantId, input);
    await recordChange(ctx, {
      action: 'webhook_subscription.created',
      entityType: 'webhook_subscription',
      entityId: created.subscription.id,
      after: created.subscription,
      event: { type: 'webhook_subscription.created', payload: created.subscription },
    });
    return created;
  });
}

async function mustFind(deps: WorkflowDeps, tenantId: string, id: string): Promise<WebhookSubscription> {
  const found = await findSubscription(readExecutor(deps), tenantId, id);
  if (!found)
    throw fail(EventsErrors.subscription_not_found, `no webhook subscription ${id}`, { record: id });
  return found;
}

export function getWebhookSubscription(
  deps: WorkflowDeps,
  tenantId: string,
  id: string,
): Promise<WebhookSubscription> {
  return mustFind(deps, tenantId, id);
}

export function listWebhookSubscriptions(
  deps: WorkflowDeps,
  tenantId: string,
  options: { status?: SubscriptionStatus; after?: string; limit: number },
): Promise<WebhookSubscription[]> {
  return listSubscriptions(readExecutor(deps), tenantId, options);
}

export function updateWebhookSubscription(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
  changes: SubscriptionChanges,
): Promise<WebhookSubscription> {
  return runChange(deps, caller, async (ctx) => {
    const before = await findSubscription(ctx.tx, ctx.tenantId, id);
    if (!before)
      throw fail(EventsErrors.subscription_not_found, `no webhook subscription ${id}`, { record: id });
    const after = await updateSubscription(ctx.tx, ctx.clock, ctx.tenantId, id, changes);
    await recordChange(ctx, {
      action: 'webhook_subscription.updated',
      entityType: 'webhook_subscription',
      entityId: id,
      before,
      after,
      event: { type: 'webhook_subscription.updated', payload: after },
    });
    return after;
  });
}

export function rotateWebhookSecret(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
): Promise<SubscriptionWithSecret> {
  return runChange(deps, caller, async (ctx) => {
    const rotated = await rotateSubscriptionSecret(ctx.tx, ctx.clock, ctx.tenantId, id);
    await recordChange(ctx, {
      action: 'webhook_subscription.secret_rotated',
      entityType: 'webhook_subscription',
      entityId: id,
      after: rotated.subscription,
    });
    return rotated;
  });
}

export function deleteWebhookSubscription(deps: WorkflowDeps, caller: Caller, id: string): Promise<void> {
  return runChange(deps, caller, async (ctx) => {
    const before = await findSubscription(ctx.tx, ctx.tenantId, id);
    if (!before)
      throw fail(EventsErrors.subscription_not_found, `no webhook subscription ${id}`, { record: id });
    await deleteSubscription(ctx.tx, ctx.tenantId, id);
    await recordChange(ctx, {
      action: 'webhook_subscription.deleted',
      entityType: 'webhook_subscription',
      entityId: id,
      before,
      event: { type: 'webhook_subscription.deleted', payload: { id } },
    });
  });
}

export async function listWebhookDeliveries(
  deps: WorkflowDeps,
  tenantId: string,
  options: {
    subscriptionId?: string;
    eventId?: string;
    status?: DeliveryStatus;
    after?: string;
    limit: number;
  },
): Promise<WebhookDelivery[]> {
  if (options.subscriptionId) await mustFind(deps, tenantId, options.subscriptionId);
  return listDeliveries(readExecutor(deps), tenantId, options);
}

export async function getWebhookDelivery(
  deps: WorkflowDeps,
  tenantId: string,
  id: string,
): Promise<WebhookDelivery & { attemptLog: WebhookAttempt[] }> {
  const db = readExecutor(deps);
  const delivery = await findDelivery(db, tenantId, id);
  if (!delivery) throw fail(EventsErrors.delivery_not_found, `no webhook delivery ${id}`, { record: id });
  return { ...delivery, attemptLog: await listAttempts(db, tenantId, id) };
}

export function retryWebhookDelivery(
  deps: WorkflowDeps,
  caller: Caller,
  id: string,
): Promise<WebhookDelivery> {
  return runChange(deps, caller, async (ctx) => {
    const delivery = await retryDelivery(ctx.tx, ctx.tenantId, id, ctx.clock.now());
    await recordChange(ctx, {
      action: 'webhook_delivery.retried',
      entityType: 'webhook_delivery',
      entityId: id,
      after: delivery,
    });
    return delivery;
  });
}

export function listDomainEvents(
  deps: WorkflowDeps,
  tenantId: string,
  options: { type?: string; after?: string; limit: number },
): Promise<DomainEvent[]> {
  return listEvents(readExecutor(deps), tenantId, options);
}

export async function getDomainEvent(deps: WorkflowDeps, tenantId: string, id: string): Promise<DomainEvent> {
  const found = await findEvent(readExecutor(deps), tenantId, id);
  if (!found) throw fail(CommonErrors.not_found, `no event ${id}`, { record: id });
  return found;
}
