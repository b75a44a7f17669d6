/**
 * The benchmark's Diameter Gy client (bench/gy-client.ts) against the project's Diameter server:
 * a CCR patched from a template reads, on the server, exactly as the one the project's codec
 * builds, and the CCA's Result-Code is found at the top and inside the
 * Multiple-Services-Credit-Control by both ways of reading it.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/kernel/clock.js';
import { startDiameterServer } from '../../src/protocols/diameter/server.js';
import type { CreditControlRequest } from '../../src/protocols/diameter/credit-control.js';
import { GyConnection, type GyEncoding, type GyRequest } from '../../bench/gy-client.js';

const cleanUp: (() => Promise<void>)[] = [];
after(async () => {
  while (cleanUp.length > 0) await cleanUp.pop()!();
});

/** What the server saw of a CCR, without what differs by design (identifiers, the raw message). */
function seen(request: CreditControlRequest): object {
  return {
    sessionId: request.sessionId,
    originHost: request.originHost,
    destinationRealm: request.destinationRealm,
    serviceContextId: request.serviceContextId,
    requestType: request.requestType,
    requestNumber: request.requestNumber,
    subscriptionIds: request.subscriptionIds,
    multipleServicesSupported: request.multipleServicesSupported,
    terminationCause: request.terminationCause,
    services: request.services.map((service) => ({
      ratingGroup: service.ratingGroup,
      requested: service.requested,
      used: service.used,
    })),
  };
}

describe('the bench Diameter Gy client', () => {
  it('sends the same CCRs from templates as through the codec, and reads Result-Codes alike', async () => {
    const received: CreditControlRequest[] = [];
    // 4915140000007 is out of credit: 4012 inside the MSCC, 2001 at the top.
    const server = await startDiameterServer({
      port: 0,
      originHost: 'ocs.test',
      originRealm: 'ocs.realm.test',
      clock: new FakeClock('2026-03-01T10:00:00Z'),
      creditControl: {
        creditControl: async (request) => {
          received.push(request);
          const broke = request.subscriptionIds[0]?.data === '4915140000007';
          return {
            resultCode: request.requestNumber === 9 ? 5030 : 2001,
            services: request.services.map((service) => ({
              ratingGroup: service.ratingGroup ?? 0,
              resultCode: broke ? 4012 : 2001,
            })),
          };
        },
      },
    });
    cleanUp.push(() => server.close());
    const connect = async (encoding: GyEncoding): Promise<GyConnection> => {
      const connection = await GyConnection.connect({
        port: server.address.port,
        originHost: 'pgw.test',
        originRealm: 'operator.test',
        encoding,
      });
      cleanUp.push(() => connection.close());
      return connection;
    };
    const template = await connect('template');
    const codec = await connect('codec');
    const requests: GyRequest[] = [
      { type: 'INITIAL', session: 42, requestNumber: 0, msisdn: '4915140000123', usedOctets: 0 },
      { type: 'UPDATE', session: 42, requestNumber: 1, msisdn: '4915140000123', usedOctets: 3_000_000 },
      { type: 'TERMINATE', session: 42, requestNumber: 2, msisdn: '4915140000123', usedOctets: 1_250_000 },
      {
        type: 'UPDATE',
        session: 9_876_543_210,
        requestNumber: 7,
        msisdn: '4915140999999',
        usedOctets: 2 ** 40 + 5,
      },
    ];
    for (const request of requests) {
      assert.equal(await codec.creditControl(request), 2001);
      assert.equal(await template.creditControl(request), 2001);
      const [fromCodec, fromTemplate] = received.splice(0);
      assert.deepEqual(seen(fromTemplate!), seen(fromCodec!));
    }
    assert.equal(received.length, 0);

    const broke: GyRequest = {
      type: 'INITIAL',
      session: 1,
      requestNumber: 0,
      msisdn: '4915140000007',
      usedOctets: 0,
    };
    assert.equal(await codec.creditControl(broke), 4012);
    assert.equal(await template.creditControl(broke), 4012);
    const refused: GyRequest = { ...broke, msisdn: '4915140000008', requestNumber: 9 };
    assert.equal(await codec.creditControl(refused), 5030);
    assert.equal(await template.creditControl(refused), 5030);

    // Many in flight at once on one connection, each answer matched to its request.
    const many = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        template.creditControl({
          type: 'INITIAL',
          session: 1_000 + i,
          requestNumber: 0,
          msisdn: i % 50 === 0 ? '4915140000007' : '4915140000123',
          usedOctets: 0,
        }),
      ),
    );
    assert.deepEqual(
      many,
      Array.from({ length: 300 }, (_, i) => (i % 50 === 0 ? 4012 : 2001)),
    );
  });
});
