/**
 * Prepaid balances over HTTP: TMF654 Prepay Balance Management shaped resources, and the
 * operator's routes for balances, vouchers and reservations. Thin adapters over
 * workflows/charging-admin.ts.
 *
 * TMF654 (`/tmf-api/prepayBalanceManagement/v4/`):
 * - `GET bucket`, `GET bucket/{id}`: the balances, as buckets (remainingValue, reservedValue);
 * - `POST topupBalance` (a top-up: `bucket.id`, `amount`, `paymentReference`), `GET topupBalance`;
 * - `POST adjustBalance` (`bucket.id`, signed `amount`, `reason`).
 * Amounts are `{ "amount": "15.00", "units": "EUR" }`: decimal text, never a JSON number (a
 * deliberate difference from TMF's numeric Quantity), units a currency code or a unit (GB, minute).
 *
 * Tollgate routes (`/v1/charging/`): balances (create, list, get, movements, recompute), voucher
 * batches (generate: the PINs are in that answer and nowhere else), voucher redemption,
 * reservations (list, force-release).
 *
 * Idempotency-Key: balances belong to the charging engine, which commits in its own transaction
 * (see the header of workflows/charging-admin.ts), so the routes that call it do their work in a
 * preHandler before the server's idempotent transaction opens, after checking that the key has no
 * stored response, and the handler only hands the answer over to be stored with the key (as the
 * usage ingestion routes do). A top-up is idempotent on its payment reference besides. Generating
 * vouchers refuses an Idempotency-Key: its stored response would keep the PINs, which must never
 * be stored; a retry after a lost answer makes a new batch (the lost one is listed, unredeemable
 * without its PINs, and may be left to expire).
 *
 * Roles: reads for billing-operator, finance, support-agent and read-only; changes for
 * billing-operator; redemption also for support-agent (redeeming a card for a caller); admin
 * may do everything.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app/container.js';
import type { Role } from '../../access/index.js';
import { CommonErrors, fail } from '../../kernel/errors.js';
import {
  BALANCE_UNITS,
  adjustBalance,
  balanceHistory,
  createBalance,
  generateVoucherBatch,
  getBalance,
  listBalances,
  listReservations,
  listTopUps,
  listVoucherBatches,
  recomputeBalance,
  redeemVoucher,
  releaseReservation,
  topUpBalance,
  type BalanceView,
  type MovementResult,
  type MovementView,
  type NewBalanceInput,
  type VoucherBatchInput,
} from '../../workflows/charging-admin.js';
import { idempotencyKeyUsed } from '../../workflows/usage.js';
import { validateIdempotencyKey } from '../../workflows/idempotent.js';
import { callerOf, principalOf } from '../access.js';
import { idParams, instantSchema, pageQueryProperties, problemResponses } from '../schemas.js';

export const TMF654_PATH = '/tmf-api/prepayBalanceManagement/v4';
const V1 = '/v1/charging';

const READ: readonly Role[] = ['billing-operator', 'finance', 'support-agent', 'read-only'];
const WRITE: readonly Role[] = ['billing-operator'];
const REDEEM: readonly Role[] = ['billing-operator', 'support-agent'];

// ---------------------------------------------------------------------------------------------
// Schemas

const amountInSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['amount', 'units'],
  description:
    'Decimal text and its units: a currency code for money ({"amount":"15.00","units":"EUR"}), or a unit ' +
    'for a bucket ({"amount":"5","units":"GB"}); never a JSON number',
  properties: {
    amount: { type: 'string', minLength: 1, maxLength: 40 },
    units: { type: 'string', minLength: 1, maxLength: 12 },
  },
} as const;

const amountOutSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { amount: { type: 'string' }, currency: { type: 'string' }, units: { type: 'string' } },
} as const;

const referenceSchema = (description: string) =>
  ({ type: 'string', minLength: 1, maxLength: 200, description }) as const;

const balanceSchema = {
  type: 'object',
  additionalProperties: true,
  description:
    'A balance: money (12 decimals of the currency) or a bucket of units, with what is held by reservations and what is available',
  properties: {
    id: { type: 'string' },
    href: { type: 'string' },
    accountId: { type: 'string' },
    ownerKind: { type: 'string' },
    ownerId: { type: 'string' },
    unit: { type: 'string' },
    currency: { type: 'string' },
    amount: amountOutSchema,
    held: amountOutSchema,
    available: amountOutSchema,
  },
} as const;

const movementSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    balanceId: { type: 'string' },
    seq: { type: 'integer' },
    kind: { type: 'string' },
    amount: amountOutSchema,
    balanceAfter: amountOutSchema,
    at: { type: 'string' },
    reference: { type: 'string' },
  },
} as const;

const openObject = { type: 'object', additionalProperties: true } as const;

/** Reservation ids are `session/requestNumber/ratingGroup` (the slashes percent-encoded in a path). */
const reservationParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: {
      type: 'string',
      pattern: '^[^\\u0000-\\u001f]{1,150}/(0|[1-9][0-9]{0,9})/(0|[1-9][0-9]{0,9})$',
      description: 'The reservation id, session/requestNumber/ratingGroup, percent-encoded',
      'x-id-kind': 'charging-reservation',
    },
  },
} as const;

const newBalanceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['ownerKind', 'ownerId', 'unitOfMeasure'],
  properties: {
    ownerKind: { type: 'string', enum: ['account', 'subscription'] },
    ownerId: { type: 'string', minLength: 1, maxLength: 100, description: 'The account or subscription id' },
    unitOfMeasure: {
      type: 'string',
      enum: BALANCE_UNITS,
      description: 'money (in the account currency) or the base unit a bucket counts',
    },
    currency: { type: 'string', minLength: 3, maxLength: 3, description: "Optional: must be the account's" },
    validFrom: instantSchema,
    validUntil: instantSchema,
    priority: { type: 'integer', minimum: 0, maximum: 1_000_000, description: 'Lower draws first (100)' },
    services: { type: 'array', maxItems: 20, items: { type: 'string', minLength: 1, maxLength: 50 } },
    ratingGroups: {
      type: 'array',
      maxItems: 100,
      items: { type: 'integer', minimum: 0, maximum: 4_294_967_295 },
    },
    zones: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 50 } },
    creditLimit: { type: 'string', minLength: 1, maxLength: 40, description: 'Money: decimal text' },
    spendingCap: {
      type: 'object',
      additionalProperties: false,
      required: ['limit', 'periodStart', 'periodEnd'],
      properties: {
        limit: { type: 'string', minLength: 1, maxLength: 40 },
        periodStart: instantSchema,
        periodEnd: instantSchema,
      },
    },
    lowBalanceThreshold: { type: 'string', minLength: 1, maxLength: 40, description: 'Money: decimal text' },
    creditNearPercent: { type: 'integer', minimum: 1, maximum: 100 },
    allowancePercents: { type: 'array', maxItems: 10, items: { type: 'integer', minimum: 1, maximum: 100 } },
  },
} as const;

const bucketRefSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 100 },
    href: { type: 'string', maxLength: 300 },
  },
} as const;

const topupSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['bucket', 'amount', 'paymentReference'],
  properties: {
    '@type': { type: 'string', enum: ['TopupBalance'] },
    bucket: bucketRefSchema,
    amount: amountInSchema,
    paymentReference: referenceSchema('The payment reference: one reference credits once'),
    channel: { type: 'string', minLength: 1, maxLength: 50 },
    description: { type: 'string', maxLength: 500 },
  },
} as const;

const adjustSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['bucket', 'amount', 'reason'],
  properties: {
    '@type': { type: 'string', enum: ['AdjustBalance'] },
    bucket: bucketRefSchema,
    amount: { ...amountInSchema, description: 'Signed: "-2.50" takes 2.50 off' },
    reason: referenceSchema('Why (kept with the movement and in the audit trail)'),
    description: { type: 'string', maxLength: 500 },
  },
} as const;

const voucherBatchSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['faceValue', 'expiresAt', 'count'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    faceValue: amountInSchema,
    bonus: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      description:
        '{ "percent": 10 } for +10 %, or { "amount": "2.00" } in the face value\'s units (not both)',
      properties: {
        percent: { type: 'integer', minimum: 1, maximum: 1000 },
        amount: { type: 'string', minLength: 1, maxLength: 40 },
      },
    },
    expiresAt: instantSchema,
    count: { type: 'integer', minimum: 1, maximum: 10_000 },
  },
} as const;

const redeemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['pin', 'balanceId'],
  properties: {
    pin: {
      type: 'string',
      minLength: 1,
      maxLength: 40,
      description: '16 digits; spaces and dashes are ignored',
    },
    balanceId: { type: 'string', minLength: 1, maxLength: 100 },
  },
} as const;

const limitQuery = { limit: pageQueryProperties.limit } as const;

// ---------------------------------------------------------------------------------------------
// Views

function bucketOf(view: BalanceView, now: string) {
  return {
    id: view.id,
    href: `${TMF654_PATH}/bucket/${view.id}`,
    '@type': 'Bucket',
    name: `${view.unit === 'money' ? view.currency : view.unit} balance`,
    usageType: view.unit === 'money' ? 'monetary' : view.unit,
    isShared: view.ownerKind === 'account',
    status: view.validUntil !== null && view.validUntil <= now ? 'expired' : 'active',
    remainingValue: view.amount,
    reservedValue: view.held,
    availableValue: view.available,
    validFor: { startDateTime: view.validFrom, endDateTime: view.validUntil },
    partyAccount: { id: view.accountId, '@referredType': 'BillingAccount' },
    ...(view.ownerKind === 'subscription'
      ? { product: { id: view.ownerId, '@referredType': 'Product' } }
      : {}),
    balance: { ...view, href: `${V1}/balances/${view.id}` },
  };
}

function topupOf(movement: MovementView, replayed = false) {
  const id = `${movement.balanceId}.${movement.seq}`;
  return {
    id,
    href: `${TMF654_PATH}/topupBalance/${id}`,
    '@type': 'TopupBalance',
    status: 'confirmed',
    confirmationDate: movement.at,
    amount: movement.amount,
    bucket: { id: movement.balanceId, href: `${TMF654_PATH}/bucket/${movement.balanceId}` },
    paymentReference: movement.reference,
    balanceAfter: movement.balanceAfter,
    replayed,
  };
}

function movementResultBody(result: MovementResult, type: 'TopupBalance' | 'AdjustBalance') {
  const id = `${result.movement.balanceId}.${result.movement.seq}`;
  if (type === 'TopupBalance')
    return {
      ...topupOf(result.movement, result.replayed),
      bucketAfter: bucketOf(result.balance, result.movement.at),
    };
  return {
    id,
    href: `${TMF654_PATH}/adjustBalance/${id}`,
    '@type': 'AdjustBalance',
    status: 'confirmed',
    confirmationDate: result.movement.at,
    amount: result.movement.amount,
    reason: result.movement.reference,
    bucket: { id: result.movement.balanceId, href: `${TMF654_PATH}/bucket/${result.movement.balanceId}` },
    balanceAfter: result.movement.balanceAfter,
    bucketAfter: bucketOf(result.balance, result.movement.at),
  };
}

// ---------------------------------------------------------------------------------------------
// Work before the idempotent transaction (see the header)

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly location?: string;
}

const answers = new WeakMap<FastifyRequest, Answer>();

function keyOf(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  return header === undefined ? undefined : Array.isArray(header) ? header.join(',') : header;
}

async function checkIdempotencyKey(request: FastifyRequest): Promise<void> {
  const key = keyOf(request);
  if (key !== undefined) validateIdempotencyKey(key);
}

function engineFirst(app: App, work: (request: FastifyRequest) => Promise<Answer>) {
  return async (request: FastifyRequest): Promise<void> => {
    const key = keyOf(request);
    if (key !== undefined && (await idempotencyKeyUsed(app, principalOf(request).tenantId, key))) return;
    answers.set(request, await work(request));
  };
}

function sendStashed(request: FastifyRequest, reply: FastifyReply): unknown {
  const answer = answers.get(request);
  if (answer === undefined) {
    throw fail(CommonErrors.conflict, 'a request with this Idempotency-Key finished meanwhile; retry it', {
      field: 'Idempotency-Key',
    });
  }
  if (answer.location !== undefined) reply.header('location', answer.location);
  reply.code(answer.status);
  return answer.body;
}

/** Errors of a use case name fields as it knows them (`amount/units`); the API names them in the body. */
function inBody<T>(work: () => Promise<T>, rename: Record<string, string> = {}): Promise<T> {
  return work().catch((error: unknown) => {
    const e = error as { field?: string };
    if (e !== null && typeof e === 'object' && typeof e.field === 'string' && !e.field.startsWith('/')) {
      const renamed = rename[e.field] ?? e.field;
      if (!renamed.startsWith('TOLLGATE_') && renamed !== 'Idempotency-Key') {
        const original = e.field;
        const pointer = `/body/${renamed}`;
        Object.defineProperty(e, 'field', { value: pointer });
        // The detail names the field as the request does, too.
        if (error instanceof Error && error.message.startsWith(original)) {
          error.message = `${pointer}${error.message.slice(original.length)}`;
        }
      }
    }
    throw error;
  });
}

// ---------------------------------------------------------------------------------------------
// Routes

export function chargingRoutes(app: App): FastifyPluginAsync {
  return async (server: FastifyInstance) => {
    const tmf = ['TMF654 prepay balance'];
    const tags = ['charging'];

    // ---- TMF654 bucket ---------------------------------------------------------------------
    server.get(
      `${TMF654_PATH}/bucket`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags: tmf,
          summary: 'List balances as TMF654 buckets',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              'partyAccount.id': {
                type: 'string',
                minLength: 1,
                maxLength: 100,
                description: 'Billing account id',
              },
              'product.id': { type: 'string', minLength: 1, maxLength: 100, description: 'Subscription id' },
              ...pageQueryProperties,
            },
          },
          response: { 200: { type: 'array', items: openObject }, ...problemResponses },
        },
      },
      async (request) => {
        const q = request.query as {
          'partyAccount.id'?: string;
          'product.id'?: string;
          after?: string;
          limit: number;
        };
        const list = await listBalances(app, principalOf(request).tenantId, {
          ...(q['partyAccount.id'] === undefined ? {} : { accountId: q['partyAccount.id'] }),
          ...(q['product.id'] === undefined ? {} : { subscriptionId: q['product.id'] }),
          ...(q.after === undefined ? {} : { after: q.after }),
          limit: q.limit,
        });
        return list.map((view) => bucketOf(view, app.clock.now()));
      },
    );
    server.get(
      `${TMF654_PATH}/bucket/:id`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags: tmf,
          summary: 'Get a balance as a TMF654 bucket',
          params: idParams('bal'),
          response: { 200: openObject, ...problemResponses },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        return bucketOf(await getBalance(app, principalOf(request).tenantId, id), app.clock.now());
      },
    );

    // ---- TMF654 topupBalance -----------------------------------------------------------------
    server.post(
      `${TMF654_PATH}/topupBalance`,
      {
        config: { access: { roles: WRITE } },
        onRequest: checkIdempotencyKey,
        preHandler: engineFirst(app, async (request) => {
          const body = request.body as {
            bucket: { id: string };
            amount: { amount: string; units: string };
            paymentReference: string;
            channel?: string;
          };
          const result = await inBody(
            () =>
              topUpBalance(app, callerOf(request), {
                balanceId: body.bucket.id,
                amount: body.amount,
                paymentReference: body.paymentReference,
                ...(body.channel === undefined ? {} : { channel: body.channel }),
              }),
            { balanceId: 'bucket/id' },
          );
          const answer = movementResultBody(result, 'TopupBalance');
          return { status: result.replayed ? 200 : 201, body: answer, location: answer.href };
        }),
        schema: {
          tags: tmf,
          summary: 'Top up a balance (once per payment reference)',
          description:
            'Credits the bucket with a paid amount. The same paymentReference again, for the same bucket and ' +
            'amount, answers 200 with the first top-up (replayed: true) and credits nothing; for another ' +
            'bucket or amount it is refused (409 balance.reference_reused).',
          body: topupSchema,
          response: { 200: openObject, 201: openObject, ...problemResponses },
        },
      },
      sendStashed,
    );
    server.get(
      `${TMF654_PATH}/topupBalance`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags: tmf,
          summary: 'List top-ups, newest first',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              'bucket.id': { type: 'string', minLength: 1, maxLength: 100, description: 'Only this balance' },
              ...limitQuery,
            },
          },
          response: { 200: { type: 'array', items: openObject }, ...problemResponses },
        },
      },
      async (request) => {
        const q = request.query as { 'bucket.id'?: string; limit: number };
        const list = await listTopUps(app, principalOf(request).tenantId, {
          ...(q['bucket.id'] === undefined ? {} : { balanceId: q['bucket.id'] }),
          limit: q.limit,
        });
        return list.map((m) => topupOf(m));
      },
    );

    // ---- TMF654 adjustBalance ----------------------------------------------------------------
    server.post(
      `${TMF654_PATH}/adjustBalance`,
      {
        config: { access: { roles: WRITE } },
        onRequest: checkIdempotencyKey,
        preHandler: engineFirst(app, async (request) => {
          const body = request.body as {
            bucket: { id: string };
            amount: { amount: string; units: string };
            reason: string;
          };
          const result = await inBody(
            () =>
              adjustBalance(app, callerOf(request), {
                balanceId: body.bucket.id,
                amount: body.amount,
                reason: body.reason,
              }),
            { balanceId: 'bucket/id' },
          );
          const answer = movementResultBody(result, 'AdjustBalance');
          return { status: 201, body: answer, location: answer.href };
        }),
        schema: {
          tags: tmf,
          summary: "Adjust a balance (an operator's correction, either sign, with a reason)",
          description:
            'A debit may take only what is available (holds and the credit limit count): 409 ' +
            'charging.insufficient_balance otherwise.',
          body: adjustSchema,
          response: { 201: openObject, ...problemResponses },
        },
      },
      sendStashed,
    );

    // ---- /v1/charging/balances ---------------------------------------------------------------
    server.post(
      `${V1}/balances`,
      {
        config: { access: { roles: WRITE } },
        onRequest: checkIdempotencyKey,
        preHandler: engineFirst(app, async (request) => {
          const { unitOfMeasure, ...rest } = request.body as Omit<NewBalanceInput, 'unit'> & {
            unitOfMeasure: NewBalanceInput['unit'];
          };
          const view = await inBody(
            () => createBalance(app, callerOf(request), { ...rest, unit: unitOfMeasure }),
            { unit: 'unitOfMeasure' },
          );
          const href = `${V1}/balances/${view.id}`;
          return { status: 201, body: { ...view, href }, location: href };
        }),
        schema: {
          tags,
          summary: 'Open a balance (money or a bucket) for a billing account or a subscription',
          description:
            "Opens at zero, in the account's currency; credit it with a top-up. Money thresholds and limits are decimal text.",
          body: newBalanceSchema,
          response: { 201: balanceSchema, ...problemResponses },
        },
      },
      sendStashed,
    );
    server.get(
      `${V1}/balances`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'List balances, of an account or of a subscription',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              accountId: { type: 'string', minLength: 1, maxLength: 100 },
              subscriptionId: { type: 'string', minLength: 1, maxLength: 100 },
              ...pageQueryProperties,
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                items: { type: 'array', items: balanceSchema },
                nextCursor: { type: ['string', 'null'] },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const q = request.query as {
          accountId?: string;
          subscriptionId?: string;
          after?: string;
          limit: number;
        };
        const items = (
          await listBalances(app, principalOf(request).tenantId, {
            ...(q.accountId === undefined ? {} : { accountId: q.accountId }),
            ...(q.subscriptionId === undefined ? {} : { subscriptionId: q.subscriptionId }),
            ...(q.after === undefined ? {} : { after: q.after }),
            limit: q.limit,
          })
        ).map((view) => ({ ...view, href: `${V1}/balances/${view.id}` }));
        return { items, nextCursor: items.length === q.limit ? items[items.length - 1]!.id : null };
      },
    );
    server.get(
      `${V1}/balances/:id`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'Get a balance: amount, held by reservations, available',
          params: idParams('bal'),
          response: { 200: balanceSchema, ...problemResponses },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const view = await getBalance(app, principalOf(request).tenantId, id);
        return { ...view, href: `${V1}/balances/${view.id}` };
      },
    );
    server.get(
      `${V1}/balances/:id/movements`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: "A balance's movements, oldest first (paged by sequence number)",
          params: idParams('bal'),
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              afterSeq: {
                type: 'integer',
                minimum: 0,
                maximum: 9_007_199_254_740_991,
                description: 'Cursor',
              },
              ...limitQuery,
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                items: { type: 'array', items: movementSchema },
                nextAfterSeq: { type: ['integer', 'null'] },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const q = request.query as { afterSeq?: number; limit: number };
        return balanceHistory(app, principalOf(request).tenantId, id, {
          ...(q.afterSeq === undefined ? {} : { afterSeq: q.afterSeq }),
          limit: q.limit,
        });
      },
    );
    server.post(
      `${V1}/balances/:id/recompute`,
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags,
          summary: 'Recompute a balance from its movements and compare (a report; nothing is repaired)',
          params: idParams('bal'),
          response: { 200: openObject, ...problemResponses },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        return recomputeBalance(app, callerOf(request), id);
      },
    );

    // ---- vouchers ----------------------------------------------------------------------------
    server.post(
      `${V1}/voucher-batches`,
      {
        config: { access: { roles: WRITE } },
        onRequest: async (request) => {
          const key = keyOf(request);
          if (key === undefined) return;
          validateIdempotencyKey(key);
          throw fail(
            CommonErrors.invalid_input,
            'Idempotency-Key is refused here: the stored response would keep the PINs, which are shown once and never stored',
            { field: 'Idempotency-Key' },
          );
        },
        schema: {
          tags,
          summary: 'Generate a batch of vouchers: the answer holds the PINs, shown this once',
          description:
            'Each voucher has a 16-digit PIN, stored only as an HMAC; keep the answer safe (print the cards from ' +
            'it) because the PINs cannot be shown again. No Idempotency-Key (see the API notes).',
          body: voucherBatchSchema,
          response: {
            201: {
              type: 'object',
              properties: {
                batch: openObject,
                vouchers: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      id: { type: 'string' },
                      serial: { type: 'string' },
                      pin: { type: 'string' },
                    },
                  },
                },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request, reply) => {
        const result = await inBody(() =>
          generateVoucherBatch(
            app,
            callerOf(request),
            app.config.tokenSecret,
            request.body as VoucherBatchInput,
          ),
        );
        reply.code(201).header('cache-control', 'no-store');
        return result;
      },
    );
    server.get(
      `${V1}/voucher-batches`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'List voucher batches with their vouchers counted by status (never the PINs)',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { ...pageQueryProperties },
          },
          response: {
            200: { type: 'object', properties: { items: { type: 'array', items: openObject } } },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const q = request.query as { after?: string; limit: number };
        return {
          items: await listVoucherBatches(app, principalOf(request).tenantId, {
            ...(q.after === undefined ? {} : { after: q.after }),
            limit: q.limit,
          }),
        };
      },
    );
    server.post(
      `${V1}/vouchers/redeem`,
      {
        config: { access: { roles: REDEEM } },
        onRequest: checkIdempotencyKey,
        preHandler: engineFirst(app, async (request) => {
          const body = request.body as { pin: string; balanceId: string };
          const result = await inBody(() =>
            redeemVoucher(app, callerOf(request), app.config.tokenSecret, body),
          );
          return { status: 200, body: result };
        }),
        schema: {
          tags,
          summary: 'Redeem a voucher by its PIN into a balance (once only)',
          description:
            'Credits the value plus the bonus as a voucher movement. A second redemption is refused (409 ' +
            'voucher.already_redeemed), as is one after the expiry (409 voucher.expired); an unknown PIN is 404.',
          body: redeemSchema,
          response: { 200: openObject, ...problemResponses },
        },
      },
      sendStashed,
    );

    // ---- reservations ------------------------------------------------------------------------
    server.get(
      `${V1}/reservations`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'List reservations (active by default), by account or session',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              status: {
                type: 'string',
                enum: ['active', 'all', 'committed', 'released', 'expired'],
                default: 'active',
              },
              accountId: { type: 'string', minLength: 1, maxLength: 100 },
              sessionId: { type: 'string', minLength: 1, maxLength: 200 },
              after: {
                type: 'string',
                maxLength: 300,
                description: 'Cursor: the last id of the previous page',
              },
              limit: pageQueryProperties.limit,
            },
          },
          response: {
            200: { type: 'object', properties: { items: { type: 'array', items: openObject } } },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const q = request.query as {
          status: 'active' | 'all' | 'committed' | 'released' | 'expired';
          accountId?: string;
          sessionId?: string;
          after?: string;
          limit: number;
        };
        return {
          items: await listReservations(app, principalOf(request).tenantId, {
            status: q.status,
            ...(q.accountId === undefined ? {} : { accountId: q.accountId }),
            ...(q.sessionId === undefined ? {} : { sessionId: q.sessionId }),
            ...(q.after === undefined ? {} : { after: q.after }),
            limit: q.limit,
          }),
        };
      },
    );
    server.post(
      `${V1}/reservations/:id/release`,
      {
        config: { access: { roles: WRITE } },
        onRequest: checkIdempotencyKey,
        preHandler: engineFirst(app, async (request) => {
          const { id } = request.params as { id: string };
          return { status: 200, body: await releaseReservation(app, callerOf(request), id) };
        }),
        schema: {
          tags,
          summary: 'Force-release an active reservation: its holds go back, nothing is charged',
          params: reservationParams,
          response: { 200: openObject, ...problemResponses },
        },
      },
      sendStashed,
    );
  };
}
