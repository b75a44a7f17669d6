import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Instant } from '../kernel/clock.js';
import { instantFromMs } from '../kernel/clock.js';
import { ORIGINAL_USAGE_COLUMNS } from '../usage/store.js';
import { pushRow, type OnlineUsage } from './charging-usage.js';

const NOW = '2026-11-29T12:00:00.000Z' as Instant;

/** The row as it was built before pushRow pushed values itself: an object and JSON.stringify. */
function reference(id: bigint, importId: string, source: string, usage: OnlineUsage): unknown[] {
  const units = usage.units;
  const reportedAt = instantFromMs(usage.reportedAtMs);
  const quantity = (service: boolean): bigint => (service ? units : 0n);
  const row: Record<string, unknown> = {
    id,
    tenant_id: usage.tenantId,
    import_id: importId,
    source,
    line: usage.requestNumber,
    source_record_id: usage.reservationId,
    subscription_id: usage.subscriptionId,
    account_id: usage.accountId,
    service: usage.service,
    identity: usage.identity,
    start_at: instantFromMs(usage.startMs),
    duration_sec: quantity(usage.unit === 'second'),
    volume_up_bytes: 0n,
    volume_down_bytes: quantity(usage.unit === 'byte'),
    event_count: quantity(usage.unit !== 'second' && usage.unit !== 'byte'),
    called_number: usage.calledNumber ?? null,
    detail: JSON.stringify({
      ratingGroup: usage.ratingGroup,
      ...(usage.visitedMccMnc === undefined ? {} : { roaming: true, visitedMccMnc: usage.visitedMccMnc }),
      extra: {
        protocol: usage.protocol,
        session: usage.sessionId,
        reservation: usage.reservationId,
        reportedAt,
      },
    }),
    charged_units: units - usage.bucketUnits,
    allowance_units: usage.bucketUnits,
    amount_pico: usage.amountPico,
    currency: usage.currency,
    trace: usage.trace,
    raw: JSON.stringify({
      online: usage.protocol,
      session: usage.sessionId,
      requestNumber: usage.requestNumber,
      ratingGroup: usage.ratingGroup,
      used: String(units),
      unit: usage.unit,
      reportedAt,
    }),
    rated_at: NOW,
  };
  return ORIGINAL_USAGE_COLUMNS.map((column) => row[column]);
}

describe('online usage rows', () => {
  const base: OnlineUsage = {
    tenantId: 'ten_1',
    accountId: 'acct_1',
    subscriptionId: 'sub_1',
    protocol: 'nchf',
    identity: '4915140000001',
    sessionId: 'smf.example;"quoted"\\session\u0001',
    requestNumber: 3,
    ratingGroup: 10,
    reservationId: 'smf.example;"quoted"\\session\u0001/1/10',
    service: 'data',
    unit: 'byte',
    startMs: Date.parse('2026-11-29T10:00:00.123Z'),
    reportedAtMs: Date.parse('2026-11-29T10:05:00.456Z'),
    units: 1_250_000n,
    bucketUnits: 250_000n,
    amountPico: 13_000_000_000n,
    currency: 'EUR',
    calledNumber: undefined,
    visitedMccMnc: undefined,
    trace: '["T1"]',
  };
  const cases: OnlineUsage[] = [
    base,
    { ...base, visitedMccMnc: '234-15', protocol: 'diameter' },
    { ...base, unit: 'second', service: 'voice', calledNumber: '4930123456', units: 61n, bucketUnits: 0n },
    { ...base, unit: 'message', service: 'sms', units: 1n, bucketUnits: 1n, amountPico: 0n },
  ];
  for (const usage of cases) {
    it(`writes exactly the values and JSON of the object form (${usage.unit}, ${usage.protocol})`, () => {
      const values: unknown[] = [];
      pushRow(values, 42n, 'imp_1', 'online:nchf', usage, NOW);
      assert.deepEqual(values, reference(42n, 'imp_1', 'online:nchf', usage));
    });
  }
});
