import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CommandFlag,
  DiameterDecodeError,
  avp,
  decodeMessage,
  encodeMessage,
  findAvp,
  findAvps,
  numberValue,
  stringValue,
  type DiameterAvp,
  type DiameterMessage,
} from './codec.js';
import {
  buildCreditControlAnswer,
  buildCreditControlRequest,
  buildReAuthAnswer,
  buildReAuthRequest,
  parseCreditControlAnswer,
  parseCreditControlRequest,
  parseReAuthAnswer,
  type CreditControlRequestInit,
} from './credit-control.js';
import { ResultCode } from './result-codes.js';

const IDS = { hopByHopId: 7, endToEndId: 9 };
const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);

const UPDATE: CreditControlRequestInit = {
  sessionId: 'pgw.example;1;42',
  originHost: 'pgw.example',
  originRealm: 'example',
  destinationRealm: 'ocs.example',
  serviceContextId: '32251@3gpp.org',
  requestType: 'UPDATE',
  requestNumber: 3,
  userName: 'alice',
  eventTimestampMs: T0,
  subscriptionIds: [
    { type: 'END_USER_E164', data: '491701234567' },
    { type: 'END_USER_IMSI', data: '262011234567890' },
  ],
  multipleServicesSupported: true,
  services: [
    {
      ratingGroup: 10,
      serviceIdentifiers: [1, 2],
      requested: {},
      used: [
        {
          totalOctets: 5_000n,
          inputOctets: 1_000n,
          outputOctets: 4_000n,
          reportingReason: 'QUOTA_EXHAUSTED',
        },
        { timeSec: 60, tariffChangeUsage: 'UNIT_AFTER_TARIFF_CHANGE' },
      ],
    },
    {
      ratingGroup: 20,
      requested: { money: { valueDigits: 1234n, exponent: -2, currencyCode: 978 }, serviceSpecificUnits: 3n },
      reportingReason: 'FINAL',
    },
  ],
};

/** Encodes and decodes, so the mapping is tested on what arrives from the wire. */
function wire(message: DiameterMessage): DiameterMessage {
  return decodeMessage(encodeMessage(message));
}

function parseFails(message: DiameterMessage): DiameterDecodeError {
  try {
    parseCreditControlRequest(message);
  } catch (error) {
    assert.ok(error instanceof DiameterDecodeError, String(error));
    return error;
  }
  assert.fail('parsing should have failed');
}

function without(message: DiameterMessage, name: string): DiameterMessage {
  const drop = findAvp(message, name);
  return { ...message, avps: message.avps.filter((a) => a !== drop) };
}

describe('credit-control request mapping', () => {
  it('maps a CCR into the typed request', () => {
    const request = parseCreditControlRequest(wire(buildCreditControlRequest(UPDATE, IDS)));
    assert.equal(request.sessionId, 'pgw.example;1;42');
    assert.equal(request.requestType, 'UPDATE');
    assert.equal(request.requestNumber, 3);
    assert.equal(request.userName, 'alice');
    assert.equal(request.eventTimestampMs, T0);
    assert.equal(request.multipleServicesSupported, true);
    assert.equal(request.requestedAction, undefined);
    assert.deepEqual(request.subscriptionIds, UPDATE.subscriptionIds);
    assert.equal(request.services.length, 2);
    const [data, money] = request.services;
    assert.equal(data!.ratingGroup, 10);
    assert.deepEqual(data!.serviceIdentifiers, [1, 2]);
    assert.deepEqual(data!.requested, {});
    assert.deepEqual(data!.used, [
      { totalOctets: 5_000n, inputOctets: 1_000n, outputOctets: 4_000n, reportingReason: 'QUOTA_EXHAUSTED' },
      { timeSec: 60, tariffChangeUsage: 'UNIT_AFTER_TARIFF_CHANGE' },
    ]);
    assert.deepEqual(money!.requested, {
      money: { valueDigits: 1234n, exponent: -2, currencyCode: 978 },
      serviceSpecificUnits: 3n,
    });
    assert.equal(money!.reportingReason, 'FINAL');
    assert.equal(request.retransmission, false);
    assert.equal(request.hopByHopId, 7);
  });

  it('maps an EVENT request with its Requested-Action and a T-flagged retransmission', () => {
    const event = buildCreditControlRequest(
      {
        ...UPDATE,
        requestType: 'EVENT',
        requestNumber: 0,
        requestedAction: 'REFUND_ACCOUNT',
        services: undefined,
        requested: { serviceSpecificUnits: 1n },
      },
      { ...IDS, retransmission: true },
    );
    const request = parseCreditControlRequest(wire(event));
    assert.equal(request.requestType, 'EVENT');
    assert.equal(request.requestedAction, 'REFUND_ACCOUNT');
    assert.deepEqual(request.requested, { serviceSpecificUnits: 1n });
    assert.equal(request.retransmission, true);
  });

  it('names each missing mandatory AVP with 5005 and a Failed-AVP example', () => {
    const full = wire(buildCreditControlRequest(UPDATE, IDS));
    for (const name of [
      'Session-Id',
      'Origin-Host',
      'Origin-Realm',
      'Destination-Realm',
      'Auth-Application-Id',
      'Service-Context-Id',
      'CC-Request-Type',
      'CC-Request-Number',
    ]) {
      const error = parseFails(without(full, name));
      assert.equal(error.resultCode, ResultCode.DIAMETER_MISSING_AVP, name);
      assert.match(error.message, new RegExp(name));
      assert.equal(error.failedAvp?.code, findAvp(full, name)!.code);
    }
  });

  it('refuses values it cannot interpret with 5004', () => {
    const full = buildCreditControlRequest(UPDATE, IDS);
    const replace = (name: string, value: number): DiameterMessage => ({
      ...full,
      avps: full.avps.map((a) => (a.name === name ? { ...a, value } : a)),
    });
    const badType = parseFails(replace('CC-Request-Type', 9));
    assert.equal(badType.resultCode, ResultCode.DIAMETER_INVALID_AVP_VALUE);
    assert.equal(badType.failedAvp?.value, 9);
    assert.equal(
      parseFails(replace('Auth-Application-Id', 3)).resultCode,
      ResultCode.DIAMETER_INVALID_AVP_VALUE,
    );
    const withAction = { ...full, avps: [...full.avps, avp('Requested-Action', 7)] };
    assert.equal(parseFails(withAction).resultCode, ResultCode.DIAMETER_INVALID_AVP_VALUE);
  });

  it('refuses a repeated single-valued AVP with 5009', () => {
    const full = buildCreditControlRequest(UPDATE, IDS);
    const twice = { ...full, avps: [...full.avps, avp('CC-Request-Number', 4)] };
    const error = parseFails(twice);
    assert.equal(error.resultCode, ResultCode.DIAMETER_AVP_OCCURS_TOO_MANY_TIMES);
    assert.equal(error.failedAvp?.value, 4);
  });

  it('reports a group lacking a required child inside that group', () => {
    const full = buildCreditControlRequest({ ...UPDATE, subscriptionIds: [] }, IDS);
    const broken = {
      ...full,
      avps: [...full.avps, avp('Subscription-Id', [avp('Subscription-Id-Type', 0)])],
    };
    const error = parseFails(broken);
    assert.equal(error.resultCode, ResultCode.DIAMETER_MISSING_AVP);
    assert.equal(error.failedAvp?.name, 'Subscription-Id');
    assert.equal((error.failedAvp?.value as DiameterAvp[])[0]?.name, 'Subscription-Id-Data');
    const noUnitValue = {
      ...full,
      avps: [...full.avps, avp('Requested-Service-Unit', [avp('CC-Money', [avp('Currency-Code', 978)])])],
    };
    assert.match(parseFails(noUnitValue).message, /Unit-Value/);
  });

  it('reads RFC 8506 Subscription-Id-Extension identities', () => {
    const full = buildCreditControlRequest({ ...UPDATE, subscriptionIds: [] }, IDS);
    const extended = {
      ...full,
      avps: [
        ...full.avps,
        avp('Subscription-Id-Extension', [avp('Subscription-Id-SIP-URI', 'sip:alice@example')]),
      ],
    };
    assert.deepEqual(parseCreditControlRequest(wire(extended)).subscriptionIds, [
      { type: 'END_USER_SIP_URI', data: 'sip:alice@example' },
    ]);
  });
});

describe('credit-control answer', () => {
  const requestMessage = wire({
    ...buildCreditControlRequest(UPDATE, IDS),
    avps: [
      ...buildCreditControlRequest(UPDATE, IDS).avps,
      avp('Proxy-Info', [avp('Proxy-Host', 'dra.example'), avp('Proxy-State', Buffer.from('state'))]),
    ],
  });
  const request = parseCreditControlRequest(requestMessage);
  const local = { originHost: 'ocs.example', originRealm: 'ocs.example', originStateId: 1 };

  it('builds a CCA with the fixed AVPs copied and the typed answer encoded', () => {
    const message = buildCreditControlAnswer(
      request,
      {
        resultCode: ResultCode.DIAMETER_SUCCESS,
        services: [
          {
            ratingGroup: 10,
            resultCode: ResultCode.DIAMETER_SUCCESS,
            granted: { totalOctets: 1_048_576n, tariffTimeChangeMs: T0 + 3_600_000 },
            validityTimeSec: 600,
            volumeQuotaThresholdOctets: 104_857,
            quotaHoldingTimeSec: 30,
            triggerTypes: [3],
          },
          {
            ratingGroup: 20,
            resultCode: ResultCode.DIAMETER_CREDIT_LIMIT_REACHED,
            granted: { money: { valueDigits: 50n, exponent: -2, currencyCode: 978 } },
            finalUnitIndication: { action: 'TERMINATE' },
          },
        ],
        costInformation: {
          unitValue: { valueDigits: 1234n, exponent: -2 },
          currencyCode: 978,
          costUnit: 'EUR',
        },
        creditControlFailureHandling: 'CONTINUE',
      },
      local,
    );
    assert.equal(message.flags & CommandFlag.Request, 0);
    assert.equal(message.flags & CommandFlag.Proxiable, CommandFlag.Proxiable);
    assert.equal(message.hopByHopId, 7);
    const decoded = wire(message);
    assert.equal(decoded.avps[0]!.name, 'Session-Id', 'Session-Id comes first');
    assert.equal(numberValue(decoded, 'Auth-Application-Id'), 4);
    assert.equal(numberValue(decoded, 'CC-Request-Type'), 2);
    assert.equal(numberValue(decoded, 'CC-Request-Number'), 3);
    assert.equal(stringValue(findAvps(decoded, 'Proxy-Info')[0]!, 'Proxy-Host'), 'dra.example');
    assert.equal(numberValue(decoded, 'Credit-Control-Failure-Handling'), 1);

    const answer = parseCreditControlAnswer(decoded);
    assert.equal(answer.resultCode, 2001);
    assert.equal(answer.sessionId, request.sessionId);
    assert.equal(answer.requestType, 'UPDATE');
    assert.deepEqual(answer.services[0], {
      ratingGroup: 10,
      resultCode: 2001,
      validityTimeSec: 600,
      volumeQuotaThresholdOctets: 104_857,
      quotaHoldingTimeSec: 30,
      granted: { totalOctets: 1_048_576n, tariffTimeChangeMs: T0 + 3_600_000 },
      triggerTypes: [3],
    });
    assert.deepEqual(answer.services[1], {
      ratingGroup: 20,
      resultCode: 4012,
      granted: { money: { valueDigits: 50n, exponent: -2, currencyCode: 978 } },
      finalUnitIndication: { action: 'TERMINATE' },
    });
    assert.deepEqual(answer.costInformation, {
      unitValue: { valueDigits: 1234n, exponent: -2 },
      currencyCode: 978,
      costUnit: 'EUR',
    });
  });

  it('carries Check-Balance-Result, command-level grants and redirection', () => {
    const decoded = wire(
      buildCreditControlAnswer(
        request,
        {
          resultCode: ResultCode.DIAMETER_SUCCESS,
          checkBalanceResult: 'NO_CREDIT',
          granted: { timeSec: 300 },
          validityTimeSec: 60,
          finalUnitIndication: {
            action: 'REDIRECT',
            redirectServer: { addressType: 'URL', address: 'https://topup.example' },
          },
        },
        local,
      ),
    );
    const answer = parseCreditControlAnswer(decoded);
    assert.equal(answer.checkBalanceResult, 'NO_CREDIT');
    assert.deepEqual(answer.granted, { timeSec: 300 });
    assert.equal(answer.validityTimeSec, 60);
    assert.deepEqual(answer.finalUnitIndication, {
      action: 'REDIRECT',
      redirectServer: { addressType: 'URL', address: 'https://topup.example' },
    });
  });

  it('sets the E bit when the answer carries a protocol error', () => {
    const message = buildCreditControlAnswer(request, { resultCode: ResultCode.DIAMETER_TOO_BUSY }, local);
    assert.equal(message.flags & CommandFlag.Error, CommandFlag.Error);
    const denied = buildCreditControlAnswer(request, { resultCode: ResultCode.DIAMETER_USER_UNKNOWN }, local);
    assert.equal(denied.flags & CommandFlag.Error, 0);
  });
});

describe('re-auth request and answer', () => {
  it('builds a RAR for one rating group and reads the RAA', () => {
    const rar = wire(
      buildReAuthRequest(
        {
          sessionId: 's1',
          originHost: 'ocs.example',
          originRealm: 'ocs.example',
          destinationHost: 'pgw.example',
          destinationRealm: 'example',
          ratingGroup: 10,
        },
        IDS,
      ),
    );
    assert.equal(rar.commandCode, 258);
    assert.equal(rar.applicationId, 4);
    assert.equal(rar.flags & CommandFlag.Request, CommandFlag.Request);
    assert.equal(numberValue(rar, 'Re-Auth-Request-Type'), 0);
    assert.equal(numberValue(rar, 'Rating-Group'), 10);
    assert.equal(stringValue(rar, 'Destination-Host'), 'pgw.example');

    const raa = wire(
      buildReAuthAnswer(rar, ResultCode.DIAMETER_LIMITED_SUCCESS, {
        originHost: 'pgw.example',
        originRealm: 'example',
      }),
    );
    assert.equal(raa.hopByHopId, IDS.hopByHopId);
    const parsed = parseReAuthAnswer(raa);
    assert.equal(parsed.sessionId, 's1');
    assert.equal(parsed.resultCode, 2002);
    assert.equal(parsed.originHost, 'pgw.example');
  });

  it('reads Experimental-Result and refuses an RAA without a result', () => {
    const base = { flags: 0, commandCode: 258, applicationId: 4, ...IDS };
    const experimental = parseReAuthAnswer({
      ...base,
      avps: [
        avp('Session-Id', 's1'),
        avp('Origin-Host', 'h'),
        avp('Origin-Realm', 'r'),
        avp('Experimental-Result', [avp('Vendor-Id', 10415), avp('Experimental-Result-Code', 5030)]),
      ],
    });
    assert.equal(experimental.resultCode, 5030);
    assert.throws(
      () =>
        parseReAuthAnswer({
          ...base,
          avps: [avp('Session-Id', 's1'), avp('Origin-Host', 'h'), avp('Origin-Realm', 'r')],
        }),
      (error: unknown) =>
        error instanceof DiameterDecodeError && error.resultCode === ResultCode.DIAMETER_MISSING_AVP,
    );
  });
});
