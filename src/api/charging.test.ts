/**
 * The prepaid balance API (TMF654 shaped and /v1/charging): creating a balance, top-ups idempotent
 * on their payment reference, adjustments, history, recompute, vouchers generated once-shown and
 * redeemed once, reservations, roles and validation that names the field.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, expectProblem, openTestApi, type TestApi } from '../testing/api.js';
import { createAccount, createCustomer } from '../workflows/customers.js';

const TMF = '/tmf-api/prepayBalanceManagement/v4';

describe('prepaid balance API', () => {
  let api: TestApi;
  let operator: Record<string, string>;
  let readOnly: Record<string, string>;
  let accountId: string;
  let balanceId: string;

  before(async () => {
    api = await openTestApi();
    operator = bearer(await api.keyWithRoles(api.a, ['billing-operator']));
    readOnly = bearer(await api.keyWithRoles(api.a, ['read-only']));
    const caller = { tenantId: api.a.id, actor: { type: 'system' as const, id: 'test' } };
    const customer = await createCustomer(api.app, caller, { kind: 'individual', name: 'Pia Prepaid' });
    const account = await createAccount(api.app, caller, {
      customerId: customer.id,
      name: 'Pia',
      currency: 'EUR',
    });
    accountId = account.id;
  });
  after(() => api.dispose());

  it('opens a money balance for an account, in its currency', async () => {
    const response = await api.server.inject({
      method: 'POST',
      url: '/v1/charging/balances',
      headers: operator,
      payload: {
        ownerKind: 'account',
        ownerId: accountId,
        unitOfMeasure: 'money',
        lowBalanceThreshold: '2.00',
      },
    });
    assert.equal(response.statusCode, 201, response.body);
    const body = response.json() as { id: string; amount: unknown; currency: string };
    assert.match(body.id, /^bal_/);
    assert.equal(response.headers.location, `/v1/charging/balances/${body.id}`);
    assert.deepEqual(body.amount, { amount: '0.000000000000', currency: 'EUR' });
    balanceId = body.id;
  });

  it('tops up once per payment reference (TMF654 topupBalance)', async () => {
    const payload = {
      bucket: { id: balanceId },
      amount: { amount: '15.00', units: 'EUR' },
      paymentReference: 'psp-9001',
    };
    const first = await api.server.inject({
      method: 'POST',
      url: `${TMF}/topupBalance`,
      headers: operator,
      payload,
    });
    assert.equal(first.statusCode, 201, first.body);
    const again = await api.server.inject({
      method: 'POST',
      url: `${TMF}/topupBalance`,
      headers: operator,
      payload,
    });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal((again.json() as { replayed: boolean }).replayed, true);
    // With an Idempotency-Key too: the stored answer is replayed.
    const keyed = { ...operator, 'idempotency-key': 'topup-key-1' };
    const p2 = { ...payload, paymentReference: 'psp-9002', amount: { amount: '1.00', units: 'EUR' } };
    const k1 = await api.server.inject({
      method: 'POST',
      url: `${TMF}/topupBalance`,
      headers: keyed,
      payload: p2,
    });
    const k2 = await api.server.inject({
      method: 'POST',
      url: `${TMF}/topupBalance`,
      headers: keyed,
      payload: p2,
    });
    assert.equal(k1.statusCode, 201, k1.body);
    assert.equal(k2.headers['idempotent-replayed'], 'true');
    const bucket = await api.server.inject({
      method: 'GET',
      url: `${TMF}/bucket/${balanceId}`,
      headers: readOnly,
    });
    assert.equal(bucket.statusCode, 200);
    assert.deepEqual((bucket.json() as { remainingValue: unknown }).remainingValue, {
      amount: '16.000000000000',
      currency: 'EUR',
    });
    const list = await api.server.inject({
      method: 'GET',
      url: `${TMF}/topupBalance?bucket.id=${balanceId}`,
      headers: readOnly,
    });
    assert.equal((list.json() as unknown[]).length, 2);
  });

  it('refuses a top-up from a read-only key (403) and names the field of bad input', async () => {
    const payload = {
      bucket: { id: balanceId },
      amount: { amount: '1.00', units: 'EUR' },
      paymentReference: 'r',
    };
    expectProblem(
      await api.server.inject({ method: 'POST', url: `${TMF}/topupBalance`, headers: readOnly, payload }),
      403,
      { code: 'access.role_not_allowed' },
    );
    expectProblem(
      await api.server.inject({
        method: 'POST',
        url: `${TMF}/topupBalance`,
        headers: operator,
        payload: { ...payload, amount: { amount: '1.001', units: 'EUR' } },
      }),
      400,
      { code: 'money.invalid_decimal', field: '/body/amount/amount' },
    );
    expectProblem(
      await api.server.inject({
        method: 'POST',
        url: `${TMF}/topupBalance`,
        headers: operator,
        payload: { ...payload, amount: { amount: 1, units: 'EUR' } },
      }),
      400,
      { field: '/body/amount/amount' },
    );
    expectProblem(
      await api.server.inject({
        method: 'POST',
        url: `${TMF}/topupBalance`,
        headers: operator,
        payload: { ...payload, amount: { amount: '1', units: 'GB' } },
      }),
      400,
      { code: 'balance.unit_mismatch', field: '/body/amount/units' },
    );
    expectProblem(
      await api.server.inject({
        method: 'POST',
        url: `${TMF}/topupBalance`,
        headers: operator,
        payload: { ...payload, bucket: { id: 'bal_NOPE' } },
      }),
      404,
      { code: 'charging.balance_not_found', field: '/body/bucket/id' },
    );
  });

  it('adjusts, shows the history and recomputes', async () => {
    const adjusted = await api.server.inject({
      method: 'POST',
      url: `${TMF}/adjustBalance`,
      headers: operator,
      payload: {
        bucket: { id: balanceId },
        amount: { amount: '-6.00', units: 'EUR' },
        reason: 'duplicate charge',
      },
    });
    assert.equal(adjusted.statusCode, 201, adjusted.body);
    const history = await api.server.inject({
      method: 'GET',
      url: `/v1/charging/balances/${balanceId}/movements?limit=10`,
      headers: readOnly,
    });
    const items = (history.json() as { items: Array<{ kind: string; balanceAfter: { amount: string } }> })
      .items;
    assert.deepEqual(
      items.map((m) => m.kind),
      ['top_up', 'top_up', 'adjustment'],
    );
    assert.equal(items.at(-1)!.balanceAfter.amount, '10.000000000000');
    const recompute = await api.server.inject({
      method: 'POST',
      url: `/v1/charging/balances/${balanceId}/recompute`,
      headers: operator,
    });
    assert.equal(recompute.statusCode, 200, recompute.body);
    assert.equal((recompute.json() as { matches: boolean }).matches, true);
  });

  it('generates vouchers once-shown, redeems each once, and refuses an Idempotency-Key on generation', async () => {
    const generated = await api.server.inject({
      method: 'POST',
      url: '/v1/charging/voucher-batches',
      headers: operator,
      payload: {
        faceValue: { amount: '5.00', units: 'EUR' },
        bonus: { amount: '0.50' },
        expiresAt: '2099-01-01T00:00:00Z',
        count: 2,
      },
    });
    assert.equal(generated.statusCode, 201, generated.body);
    assert.equal(generated.headers['cache-control'], 'no-store');
    const { vouchers } = generated.json() as { vouchers: Array<{ pin: string }> };
    const listed = await api.server.inject({
      method: 'GET',
      url: '/v1/charging/voucher-batches',
      headers: readOnly,
    });
    for (const v of vouchers) assert.ok(!listed.body.includes(v.pin));
    const redeem = () =>
      api.server.inject({
        method: 'POST',
        url: '/v1/charging/vouchers/redeem',
        headers: operator,
        payload: { pin: vouchers[0]!.pin, balanceId },
      });
    const [one, two] = await Promise.all([redeem(), redeem()]);
    const codes = [one.statusCode, two.statusCode].sort();
    assert.deepEqual(codes, [200, 409], `${one.body} ${two.body}`);
    expectProblem(await redeem(), 409, { code: 'voucher.already_redeemed', field: '/body/pin' });
    const balance = await api.server.inject({
      method: 'GET',
      url: `/v1/charging/balances/${balanceId}`,
      headers: readOnly,
    });
    // 10.00 + 5.00 + 0.50 bonus, once.
    assert.equal((balance.json() as { amount: { amount: string } }).amount.amount, '15.500000000000');
    expectProblem(
      await api.server.inject({
        method: 'POST',
        url: '/v1/charging/voucher-batches',
        headers: { ...operator, 'idempotency-key': 'vouchers-1' },
        payload: { faceValue: { amount: '5.00', units: 'EUR' }, expiresAt: '2099-01-01T00:00:00Z', count: 1 },
      }),
      400,
      { field: 'Idempotency-Key' },
    );
    expectProblem(
      await api.server.inject({
        method: 'POST',
        url: '/v1/charging/vouchers/redeem',
        headers: readOnly,
        payload: { pin: vouchers[1]!.pin, balanceId },
      }),
      403,
    );
  });

  it('lists reservations and answers 404 for releasing an unknown one', async () => {
    const list = await api.server.inject({
      method: 'GET',
      url: '/v1/charging/reservations?status=all',
      headers: readOnly,
    });
    assert.equal(list.statusCode, 200, list.body);
    expectProblem(
      await api.server.inject({
        method: 'POST',
        url: `/v1/charging/reservations/${encodeURIComponent('no-such/1/10')}/release`,
        headers: operator,
      }),
      404,
      { code: 'charging.reservation_not_found' },
    );
    expectProblem(
      await api.server.inject({
        method: 'POST',
        url: '/v1/charging/reservations/nope/release',
        headers: operator,
      }),
      400,
      { field: '/params/id' },
    );
    // Tenant B sees none of tenant A's balances.
    const other = await api.server.inject({
      method: 'GET',
      url: `/v1/charging/balances/${balanceId}`,
      headers: bearer(api.b.adminKey),
    });
    expectProblem(other, 404);
  });
});
