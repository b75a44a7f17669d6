import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  dataCreateRequest,
  dataReleaseRequest,
  dataUpdateRequest,
  smsEventRequest,
  voiceCreateRequest,
  voiceUpdateRequest,
} from './fixtures.js';
import type { ProblemDetails } from './model.js';
import {
  MAX_EXACT_UINT64,
  parseChargingDataRequest,
  parseChargingNotifyRequest,
  validateChargingDataRequest,
  validateChargingNotifyRequest,
} from './schema.js';

type Mutable = Record<string, unknown>;

/** A deep copy of `value` changed by `change`, so each bad case starts from a valid example. */
function variant<T>(value: T, change: (copy: Mutable) => void): unknown {
  const copy = structuredClone(value) as Mutable;
  change(copy);
  return copy;
}

function refused(body: unknown): ProblemDetails {
  const result = validateChargingDataRequest(body);
  assert.equal(result.ok, false, 'expected the body to be refused');
  if (result.ok) throw new Error('unreachable');
  assert.equal(result.status, 400);
  assert.equal(result.problem.status, 400);
  return result.problem;
}

function paramsOf(problem: ProblemDetails): string[] {
  return (problem.invalidParams ?? []).map((p) => p.param);
}

describe('ChargingDataRequest schema: spec-shaped examples', () => {
  const examples = {
    'data create (SMF, PDU session)': dataCreateRequest(),
    'data update (SMF, used units)': dataUpdateRequest(),
    'data release (SMF, FINAL)': dataReleaseRequest(),
    'voice create (IMS node, time)': voiceCreateRequest(),
    'voice update (IMS node, 120 s used)': voiceUpdateRequest(),
    'SMS (SMSF, IEC one-time event)': smsEventRequest(),
  };
  for (const [name, example] of Object.entries(examples)) {
    it(`accepts ${name}`, () => {
      const result = parseChargingDataRequest(JSON.stringify(example));
      assert.equal(result.ok, true, JSON.stringify(result.ok ? undefined : result.problem));
      if (result.ok) assert.deepEqual(result.value, example);
    });
  }

  it('keeps volumes as exact numbers, up to 2^53 - 1', () => {
    const body = variant(dataUpdateRequest(), (r) => {
      const container = (r.multipleUnitUsage as Mutable[])[0]!.usedUnitContainer as Mutable[];
      container[0]!.totalVolume = MAX_EXACT_UINT64;
    });
    const result = parseChargingDataRequest(JSON.stringify(body));
    assert.ok(result.ok);
    assert.equal(
      result.value.multipleUnitUsage![0]!.usedUnitContainer![0]!.totalVolume,
      9_007_199_254_740_991,
    );
  });

  it('lets unknown attributes through (TS 29.501: receivers ignore them)', () => {
    const body = variant(dataCreateRequest(), (r) => {
      r.tenantIdentifier = 'operator-a';
      r.nEFChargingInformation = { aPIName: 'nnef-pfdmanagement' };
      (r.nfConsumerIdentification as Mutable).futureAttribute = 42;
    });
    assert.equal(validateChargingDataRequest(body).ok, true);
  });

  it('accepts every subscriber identifier form', () => {
    for (const id of [
      'imsi-001010000000001',
      'msisdn-491701234567',
      'nai-alice@example.net',
      'gci-00112233445566@operator.example',
      'gli-line-42@operator.example',
      'extid-device-7@iot.example',
    ]) {
      const body = variant(smsEventRequest(), (r) => (r.subscriberIdentifier = id));
      assert.equal(validateChargingDataRequest(body).ok, true, id);
    }
  });
});

describe('ChargingDataRequest schema: refusals', () => {
  it('refuses a missing mandatory IE with MANDATORY_IE_MISSING and its pointer', () => {
    const problem = refused(variant(dataCreateRequest(), (r) => delete r.invocationSequenceNumber));
    assert.equal(problem.cause, 'MANDATORY_IE_MISSING');
    assert.deepEqual(problem.invalidParams, [
      { param: '/invocationSequenceNumber', reason: 'is a mandatory IE and is missing' },
    ]);
    assert.match(problem.detail!, /^\/invocationSequenceNumber is a mandatory IE/);
  });

  it('names nested missing IEs: nodeFunctionality, ratingGroup, localSequenceNumber', () => {
    const problem = refused(
      variant(dataUpdateRequest(), (r) => {
        delete (r.nfConsumerIdentification as Mutable).nodeFunctionality;
        const usage = (r.multipleUnitUsage as Mutable[])[0]!;
        delete (usage.usedUnitContainer as Mutable[])[0]!.localSequenceNumber;
      }),
    );
    assert.equal(problem.cause, 'MANDATORY_IE_MISSING');
    assert.deepEqual(paramsOf(problem).sort(), [
      '/multipleUnitUsage/0/usedUnitContainer/0/localSequenceNumber',
      '/nfConsumerIdentification/nodeFunctionality',
    ]);
  });

  it('refuses a missing ratingGroup and a missing pduSessionInformation', () => {
    const problem = refused(
      variant(dataCreateRequest(), (r) => {
        delete (r.multipleUnitUsage as Mutable[])[0]!.ratingGroup;
        delete (r.pDUSessionChargingInformation as Mutable).pduSessionInformation;
      }),
    );
    assert.deepEqual(paramsOf(problem).sort(), [
      '/multipleUnitUsage/0/ratingGroup',
      '/pDUSessionChargingInformation/pduSessionInformation',
    ]);
  });

  it('refuses a negative volume, a fractional volume and one past 2^53 - 1', () => {
    for (const [value, reason] of [
      [-1, /at least 0/],
      [1.5, /integer/],
      [MAX_EXACT_UINT64 + 1, /2\^53 - 1/],
    ] as const) {
      const problem = refused(
        variant(dataUpdateRequest(), (r) => {
          const usage = (r.multipleUnitUsage as Mutable[])[0]!;
          (usage.usedUnitContainer as Mutable[])[0]!.downlinkVolume = value;
        }),
      );
      assert.equal(problem.cause, 'OPTIONAL_IE_INCORRECT', String(value));
      assert.equal(problem.invalidParams?.length, 1);
      assert.equal(
        problem.invalidParams![0]!.param,
        '/multipleUnitUsage/0/usedUnitContainer/0/downlinkVolume',
      );
      assert.match(problem.invalidParams![0]!.reason!, reason);
    }
  });

  it('refuses the uint64 maximum as written on the wire (it is not exact as a JSON number)', () => {
    const text = JSON.stringify(dataUpdateRequest()).replace(
      '"totalVolume":5000000',
      '"totalVolume":18446744073709551615',
    );
    const result = parseChargingDataRequest(text);
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(
        result.problem.invalidParams![0]!.param,
        '/multipleUnitUsage/0/usedUnitContainer/0/totalVolume',
      );
    }
  });

  it('refuses a requested time past uint32 and a string where a number belongs', () => {
    const problem = refused(
      variant(voiceCreateRequest(), (r) => {
        (r.multipleUnitUsage as Mutable[])[0]!.requestedUnit = { time: 4_294_967_296 };
        r.invocationSequenceNumber = '7';
      }),
    );
    // The sequence number is mandatory, so its wrong type outranks the optional time.
    assert.equal(problem.cause, 'MANDATORY_IE_INCORRECT');
    assert.deepEqual(paramsOf(problem).sort(), [
      '/invocationSequenceNumber',
      '/multipleUnitUsage/0/requestedUnit/time',
    ]);
  });

  it('refuses a wrongly typed mandatory structure as MANDATORY_IE_INCORRECT', () => {
    const problem = refused(variant(dataCreateRequest(), (r) => (r.nfConsumerIdentification = 'SMF')));
    assert.equal(problem.cause, 'MANDATORY_IE_INCORRECT');
    assert.deepEqual(problem.invalidParams, [
      { param: '/nfConsumerIdentification', reason: 'must be of type object' },
    ]);
  });

  it('refuses a bad timestamp, subscriber, quota management indicator and one-time event type', () => {
    const problem = refused(
      variant(smsEventRequest(), (r) => {
        r.invocationTimeStamp = '2026-03-01 12:00:05';
        r.subscriberIdentifier = 'alice';
        r.oneTimeEventType = 'XEC';
      }),
    );
    const byParam = new Map((problem.invalidParams ?? []).map((p) => [p.param, p.reason]));
    assert.match(byParam.get('/invocationTimeStamp')!, /RFC 3339/);
    assert.match(byParam.get('/subscriberIdentifier')!, /SUPI or GPSI/);
    assert.match(byParam.get('/oneTimeEventType')!, /IEC, PEC/);

    const qmi = refused(
      variant(dataUpdateRequest(), (r) => {
        const usage = (r.multipleUnitUsage as Mutable[])[0]!;
        (usage.usedUnitContainer as Mutable[])[0]!.quotaManagementIndicator = 'SOMETIMES';
      }),
    );
    assert.match(
      qmi.invalidParams![0]!.reason!,
      /ONLINE_CHARGING, OFFLINE_CHARGING, QUOTA_MANAGEMENT_SUSPENDED/,
    );
  });

  it('requires the type of a one-time event, and only of one; checks a top-level chargingId', () => {
    const untyped = refused(variant(smsEventRequest(), (r) => delete r.oneTimeEventType));
    assert.equal(untyped.cause, 'MANDATORY_IE_MISSING');
    assert.deepEqual(paramsOf(untyped), ['/oneTimeEventType']);
    // Not a one-time event: no type needed; a PEC is accepted like an IEC.
    for (const body of [
      variant(smsEventRequest(), (r) => {
        r.oneTimeEvent = false;
        delete r.oneTimeEventType;
      }),
      variant(smsEventRequest(), (r) => (r.oneTimeEventType = 'PEC')),
      variant(smsEventRequest(), (r) => (r.chargingId = 4_294_967_295)),
    ]) {
      assert.equal(validateChargingDataRequest(body).ok, true, JSON.stringify(body));
    }
    const badId = refused(variant(smsEventRequest(), (r) => (r.chargingId = -1)));
    assert.equal(badId.cause, 'OPTIONAL_IE_INCORRECT');
    assert.deepEqual(paramsOf(badId), ['/chargingId']);
  });

  it('refuses an NF name that is not a UUID, a bad IPv4 address and a notifyUri that is not http(s)', () => {
    const problem = refused(
      variant(dataCreateRequest(), (r) => {
        (r.nfConsumerIdentification as Mutable).nFName = 'smf-1';
        (r.nfConsumerIdentification as Mutable).nFIPv4Address = '10.0.0.256';
        r.notifyUri = 'ftp://smf.example/notify';
      }),
    );
    assert.deepEqual(paramsOf(problem).sort(), [
      '/nfConsumerIdentification/nFIPv4Address',
      '/nfConsumerIdentification/nFName',
      '/notifyUri',
    ]);
  });

  it('refuses a trigger without its category and a slice with a bad sst', () => {
    const problem = refused(
      variant(dataCreateRequest(), (r) => {
        delete (r.triggers as Mutable[])[1]!.triggerCategory;
        const info = (r.pDUSessionChargingInformation as Mutable).pduSessionInformation as Mutable;
        info.networkSlicingInfo = { sNSSAI: { sst: 256 } };
      }),
    );
    assert.deepEqual(paramsOf(problem).sort(), [
      '/pDUSessionChargingInformation/pduSessionInformation/networkSlicingInfo/sNSSAI/sst',
      '/triggers/1/triggerCategory',
    ]);
  });

  it('refuses a body that is not an object with INVALID_MSG_FORMAT', () => {
    for (const body of [[], 'text', 42, null]) {
      const problem = refused(body);
      assert.equal(problem.cause, 'INVALID_MSG_FORMAT');
      assert.equal(problem.invalidParams, undefined);
    }
  });

  it('refuses empty bodies, bad JSON and NUL characters before the schema', () => {
    for (const [text, detail] of [
      ['', /empty/],
      ['{"invocationSequenceNumber":', /not valid JSON/],
      ['{"a":1}}', /not valid JSON/],
    ] as const) {
      const result = parseChargingDataRequest(text);
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.problem.cause, 'INVALID_MSG_FORMAT');
        assert.match(result.problem.detail!, detail);
      }
    }
    const withNul = JSON.stringify(
      variant(smsEventRequest(), (r) => (r.serviceSpecificationInfo = 'a\u0000b')),
    );
    const result = parseChargingDataRequest(withNul);
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(paramsOf(result.problem), ['/serviceSpecificationInfo']);
  });

  it('bounds the number of invalidParams entries', () => {
    const body = variant(dataCreateRequest(), (r) => {
      r.multipleUnitUsage = Array.from({ length: 100 }, () => ({ ratingGroup: -1 }));
    });
    const problem = refused(body);
    assert.equal(problem.invalidParams?.length, 32);
    assert.match(problem.detail!, /and 99 more/);
  });
});

describe('ChargingNotifyRequest schema', () => {
  it('accepts a re-authorisation for two rating groups and an abort', () => {
    assert.equal(
      validateChargingNotifyRequest({
        notificationType: 'REAUTHORIZATION',
        reauthorizationDetails: [{ ratingGroup: 10 }, { ratingGroup: 100, serviceId: 1 }],
      }).ok,
      true,
    );
    assert.equal(parseChargingNotifyRequest('{"notificationType":"ABORT_CHARGING"}').ok, true);
  });

  it('refuses a missing or unknown notification type', () => {
    const missing = validateChargingNotifyRequest({ reauthorizationDetails: [] });
    assert.ok(!missing.ok);
    assert.equal(missing.problem.cause, 'MANDATORY_IE_MISSING');
    const unknown = validateChargingNotifyRequest({ notificationType: 'TOP_UP' });
    assert.ok(!unknown.ok);
    assert.equal(unknown.problem.cause, 'MANDATORY_IE_INCORRECT');
    assert.equal(unknown.problem.invalidParams![0]!.param, '/notificationType');
  });
});
