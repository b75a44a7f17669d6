import { it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { inTransaction, type Executor } from '../storage/database.js';
import { insertTenant } from '../tenancy/store.js';
import { describeEachDialect } from '../testing/databases.js';
import { EventsErrors } from './errors.js';
import {
  claimDueDeliveries,
  createSubscription,
  deleteSubscription,
  enqueueEvent,
  fanOutPending,
  findStoredSubscription,
  findSubscription,
  listAttempts,
  listDeliveries,
  listEvents,
  listSubscriptions,
  matchesEventType,
  recordAttempt,
  retryDelivery,
  rotateSubscriptionSecret,
  updateSubscription,
} from './store.js';

const clock = new FakeClock('2026-03-01T12:00:00.000Z');

async function newTenant(db: Executor, slug: string): Promise<string> {
  const id = newId('ten', clock);
  await insertTenant(db, {
    id,
    slug,
    name: slug,
    status: 'active',
    settings: { defaultCurrency: 'EUR', timeZone: 'UTC', locale: 'en' },
    createdAt: clock.now(),
    updatedAt: clock.now(),
  });
  return id;
}

async function enqueue(
  db: Executor,
  tenantId: string,
  type: string,
  payload: unknown = { n: 1 },
): Promise<string> {
  const id = newId('evt', clock);
  await enqueueEvent(db, {
    id,
    tenantId,
    type,
    entityType: type.split('.')[0]!,
    entityId: 'ent_1',
    payload,
    occurredAt: clock.now(),
  });
  return id;
}

function rejectsWith(code: { code: string }) {
  return (error: unknown) => isTollgateError(error) && error.code === code.code;
}

describeEachDialect('events store', (db) => {
  let tenantA = '';
  let tenantB = '';

  it('sets up tenants', async () => {
    tenantA = await newTenant(db().db, `events-a`);
    tenantB = await newTenant(db().db, `events-b`);
  });

  it('writes an event with the transaction of its change, and not when it rolls back', async () => {
    await assert.rejects(
      inTransaction(db(), async (tx) => {
        await enqueue(tx, tenantA, 'rollback.test');
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.deepEqual(await listEvents(db().db, tenantA, { type: 'rollback.test', limit: 10 }), []);

    const id = await inTransaction(db(), (tx) =>
      enqueue(tx, tenantA, 'commit.test', { total: 12n, list: [1] }),
    );
    const [event] = await listEvents(db().db, tenantA, { type: 'commit.test', limit: 10 });
    assert.equal(event?.id, id);
    assert.deepEqual(event?.payload, { total: '12', list: [1] }, 'bigints are stored as decimal strings');
    assert.equal(event?.fannedOutAt, undefined);
  });

  it('creates subscriptions that show their secret once', async () => {
    const created = await createSubscription(db().db, clock, tenantA, {
      url: 'https://hooks.example.com/tollgate#frag',
      eventTypes: ['invoice.issued', 'invoice.issued', 'payment.*'],
      description: 'billing system',
    });
    assert.match(created.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.match(created.subscription.id, /^whs_/);
    assert.equal(created.subscription.url, 'https://hooks.example.com/tollgate');
    assert.deepEqual(created.subscription.eventTypes, ['invoice.issued', 'payment.*']);
    assert.equal('secret' in created.subscription, false);

    const found = await findSubscription(db().db, tenantA, created.subscription.id);
    assert.deepEqual(found, created.subscription);
    assert.equal('secret' in found!, false);
    const listed = await listSubscriptions(db().db, tenantA, { limit: 100 });
    assert.ok(listed.every((s) => !('secret' in s)));
    assert.equal(
      (await findStoredSubscription(db().db, tenantA, created.subscription.id))?.secret,
      created.secret,
    );
    assert.equal(
      await findSubscription(db().db, tenantB, created.subscription.id),
      undefined,
      'scoped by tenant',
    );

    const rotated = await rotateSubscriptionSecret(db().db, clock, tenantA, created.subscription.id);
    assert.notEqual(rotated.secret, created.secret);
    assert.equal(
      (await findStoredSubscription(db().db, tenantA, created.subscription.id))?.secret,
      rotated.secret,
    );
    await deleteSubscription(db(), tenantA, created.subscription.id);
  });

  it('validates URLs and event types', async () => {
    for (const url of [
      'ftp://x.example.com/',
      'not a url',
      '',
      'https://user:pw@x.example.com/',
      'file:///etc/passwd',
    ]) {
      await assert.rejects(
        createSubscription(db().db, clock, tenantA, { url }),
        (e: unknown) => rejectsWith(EventsErrors.invalid_url)(e) && (e as { field?: string }).field === 'url',
        url,
      );
    }
    for (const eventTypes of [[], ['Invoice.Issued'], ['invoice.'], ['*.issued'], [42]]) {
      await assert.rejects(
        createSubscription(db().db, clock, tenantA, {
          url: 'http://x.example.com',
          eventTypes: eventTypes as string[],
        }),
        rejectsWith(EventsErrors.invalid_event_type),
        JSON.stringify(eventTypes),
      );
    }
    await assert.rejects(
      updateSubscription(db().db, clock, tenantB, 'whs_missing', { status: 'disabled' }),
      rejectsWith(EventsErrors.subscription_not_found),
    );
    assert.equal(matchesEventType(['invoice.*'], 'invoice.issued'), true);
    assert.equal(matchesEventType(['invoice.*'], 'invoicing.issued'), false);
    assert.equal(matchesEventType(['*'], 'anything.at_all'), true);
  });

  it('fans out one delivery per matching subscription, once, filtered by type and tenant', async () => {
    // Drain whatever earlier tests left in the outbox, so this test counts only its own events.
    while ((await fanOutPending(db(), clock, 100)).events > 0);
    clock.advanceMs(1000);
    const all = await createSubscription(db().db, clock, tenantA, { url: 'https://a.example.com/all' });
    const invoices = await createSubscription(db().db, clock, tenantA, {
      url: 'https://a.example.com/invoices',
      eventTypes: ['invoice.*'],
    });
    const payments = await createSubscription(db().db, clock, tenantA, {
      url: 'https://a.example.com/payments',
      eventTypes: ['payment.captured'],
    });
    const disabled = await createSubscription(db().db, clock, tenantA, {
      url: 'https://a.example.com/off',
      status: 'disabled',
    });
    const other = await createSubscription(db().db, clock, tenantB, { url: 'https://b.example.com/all' });

    clock.advanceMs(1000);
    const issued = await enqueue(db().db, tenantA, 'invoice.issued');
    const captured = await enqueue(db().db, tenantA, 'payment.captured');
    const created = await enqueue(db().db, tenantA, 'customer.created');

    const first = await fanOutPending(db(), clock, 100);
    assert.deepEqual(first, { events: 3, deliveries: 5 });
    const second = await fanOutPending(db(), clock, 100);
    assert.deepEqual(second, { events: 0, deliveries: 0 }, 'a second run creates nothing more');

    const deliveries = await listDeliveries(db().db, tenantA, { status: 'pending', limit: 100 });
    const pairs = (subscriptionId: string) =>
      deliveries
        .filter((d) => d.subscriptionId === subscriptionId)
        .map((d) => d.eventId)
        .sort();
    assert.deepEqual(pairs(all.subscription.id), [issued, captured, created].sort());
    assert.deepEqual(pairs(invoices.subscription.id), [issued]);
    assert.deepEqual(pairs(payments.subscription.id), [captured]);
    assert.deepEqual(pairs(disabled.subscription.id), []);
    assert.deepEqual(
      await listDeliveries(db().db, tenantB, { limit: 100 }),
      [],
      "tenant B never gets A's events",
    );
    assert.deepEqual(
      await listDeliveries(db().db, tenantB, { subscriptionId: other.subscription.id, limit: 100 }),
      [],
    );
    assert.ok(deliveries.every((d) => d.attempts === 0 && d.id.startsWith('whd_')));
    const events = await listEvents(db().db, tenantA, { after: issued, limit: 10 });
    assert.deepEqual(
      events.map((e) => e.id),
      [captured, created],
    );
    assert.ok(events.every((e) => e.fannedOutAt !== undefined));

    // Re-running fan-out over the same events (as a second dispatcher could) inserts no duplicate.
    await db()
      .db.updateTable('outbox_events')
      .set({ fanned_out_at: null })
      .where('id', '=', issued)
      .execute();
    assert.deepEqual(await fanOutPending(db(), clock, 100), { events: 1, deliveries: 0 });

    // Tenant B's own event reaches only tenant B's subscription.
    const bEvent = await enqueue(db().db, tenantB, 'invoice.issued');
    assert.deepEqual(await fanOutPending(db(), clock, 100), { events: 1, deliveries: 1 });
    const bDeliveries = await listDeliveries(db().db, tenantB, { limit: 100 });
    assert.deepEqual(
      bDeliveries.map((d) => [d.subscriptionId, d.eventId]),
      [[other.subscription.id, bEvent]],
    );

    for (const s of [all, invoices, payments, disabled])
      await deleteSubscription(db(), tenantA, s.subscription.id);
    await deleteSubscription(db(), tenantB, other.subscription.id);
  });

  it('does not give a new subscription the events that occurred before it existed', async () => {
    await enqueue(db().db, tenantA, 'invoice.issued');
    clock.advanceMs(1);
    const late = await createSubscription(db().db, clock, tenantA, { url: 'https://a.example.com/late' });
    assert.equal((await fanOutPending(db(), clock, 100)).deliveries, 0);
    await deleteSubscription(db(), tenantA, late.subscription.id);
  });

  it('claims due deliveries once, records attempts, and retries failed ones by hand', async () => {
    clock.advanceMs(1000);
    const sub = await createSubscription(db().db, clock, tenantA, { url: 'https://a.example.com/claims' });
    const eventId = await enqueue(db().db, tenantA, 'invoice.paid');
    await fanOutPending(db(), clock, 100);

    const claimed = await claimDueDeliveries(db(), clock.now(), 10);
    assert.equal(claimed.length, 1);
    const [delivery] = claimed;
    assert.equal(delivery!.event.id, eventId);
    assert.equal(
      delivery!.secret,
      (await findStoredSubscription(db().db, tenantA, sub.subscription.id))?.secret,
    );
    assert.deepEqual(await claimDueDeliveries(db(), clock.now(), 10), [], 'a claimed delivery is leased');

    const startedAt = clock.now();
    clock.advanceMs(10);
    assert.equal(
      await recordAttempt(db(), {
        id: newId('wha', clock),
        tenantId: tenantA,
        deliveryId: delivery!.deliveryId,
        attempt: 1,
        startedAt,
        durationMs: 10,
        statusCode: 500,
        error: 'receiver answered HTTP 500',
        responseExcerpt: 'boom',
        outcome: { status: 'failed' },
        recordedAt: clock.now(),
      }),
      true,
    );
    const [failed] = await listDeliveries(db().db, tenantA, {
      subscriptionId: sub.subscription.id,
      limit: 10,
    });
    assert.equal(failed?.status, 'failed');
    assert.equal(failed?.attempts, 1);
    assert.equal(failed?.lastStatusCode, 500);
    assert.equal(failed?.eventType, 'invoice.paid');
    const attempts = await listAttempts(db().db, tenantA, delivery!.deliveryId);
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.statusCode, a.durationMs, a.responseExcerpt]),
      [[1, 500, 10, 'boom']],
    );
    assert.deepEqual(await listAttempts(db().db, tenantB, delivery!.deliveryId), [], 'scoped by tenant');

    await assert.rejects(
      retryDelivery(db().db, tenantB, delivery!.deliveryId, clock.now()),
      rejectsWith(EventsErrors.delivery_not_found),
    );
    const retried = await retryDelivery(db().db, tenantA, delivery!.deliveryId, clock.now());
    assert.equal(retried.status, 'pending');
    assert.equal(retried.nextAttemptAt, clock.now());
    await assert.rejects(
      retryDelivery(db().db, tenantA, delivery!.deliveryId, clock.now()),
      rejectsWith(EventsErrors.delivery_not_retryable),
    );
    assert.equal((await claimDueDeliveries(db(), clock.now(), 10)).length, 1);

    // Pending deliveries of a disabled subscription wait; they are not claimed.
    await updateSubscription(db().db, clock, tenantA, sub.subscription.id, { status: 'disabled' });
    clock.advanceMs(10 * 60 * 1000);
    assert.deepEqual(await claimDueDeliveries(db(), clock.now(), 10), []);
    await updateSubscription(db().db, clock, tenantA, sub.subscription.id, { status: 'active' });
    assert.equal((await claimDueDeliveries(db(), clock.now(), 10)).length, 1);

    await deleteSubscription(db(), tenantA, sub.subscription.id);
    assert.deepEqual(await listAttempts(db().db, tenantA, delivery!.deliveryId), []);
    await assert.rejects(
      deleteSubscription(db(), tenantA, sub.subscription.id),
      rejectsWith(EventsErrors.subscription_not_found),
    );
  });
});
