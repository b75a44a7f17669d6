import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { FakeClock } from '../../kernel/clock.js';
import { isTollgateError } from '../../kernel/errors.js';
import { connectDiameterClient, type DiameterClient, type DiameterClientOptions } from './client.js';
import {
  CommandFlag,
  DiameterFramer,
  avp,
  decodeMessage,
  encodeMessage,
  findAvp,
  findAvps,
  numberValue,
  stringValue,
  type DiameterMessage,
} from './codec.js';
import {
  buildCreditControlRequest,
  parseCreditControlAnswer,
  type CreditControlAnswer,
  type CreditControlRequest,
} from './credit-control.js';
import { ResultCode } from './result-codes.js';
import {
  startDiameterServer,
  type CreditControlHandler,
  type DiameterServer,
  type DiameterServerOptions,
  type PeerInfo,
} from './server.js';

const SERVER_HOST = 'ocs.tollgate.test';
const SERVER_REALM = 'tollgate.test';
const CLIENT_HOST = 'pgw.operator.test';

const servers: DiameterServer[] = [];
const clients: DiameterClient[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await server.close();
});

interface Call {
  readonly request: CreditControlRequest;
  readonly peer: PeerInfo;
}

/** A handler granting 1 MiB per rating group asked for, recording each call. */
function grantingHandler(
  calls: Call[] = [],
  delayMs?: (request: CreditControlRequest) => number,
): CreditControlHandler {
  return {
    async creditControl(request, peer) {
      calls.push({ request, peer });
      const wait = delayMs?.(request) ?? 0;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return {
        resultCode: ResultCode.DIAMETER_SUCCESS,
        services: request.services.map((service) => ({
          ...(service.ratingGroup === undefined ? {} : { ratingGroup: service.ratingGroup }),
          resultCode: ResultCode.DIAMETER_SUCCESS,
          granted: { totalOctets: 1_048_576n },
          validityTimeSec: 600,
        })),
      };
    },
  };
}

async function startServer(options: Partial<DiameterServerOptions> = {}): Promise<DiameterServer> {
  const server = await startDiameterServer({
    port: 0,
    originHost: SERVER_HOST,
    originRealm: SERVER_REALM,
    creditControl: grantingHandler(),
    clock: new FakeClock('2026-03-01T10:00:00.000Z'),
    ...options,
  });
  servers.push(server);
  return server;
}

async function client(
  server: DiameterServer,
  options: Partial<DiameterClientOptions> = {},
): Promise<DiameterClient> {
  const c = await connectDiameterClient({
    port: server.address.port,
    originHost: CLIENT_HOST,
    originRealm: 'operator.test',
    requestTimeoutMs: 2_000,
    ...options,
  });
  clients.push(c);
  return c;
}

const CCR = {
  sessionId: 'pgw.operator.test;1;1',
  serviceContextId: '32251@3gpp.org',
  requestType: 'INITIAL' as const,
  requestNumber: 0,
  subscriptionIds: [{ type: 'END_USER_E164' as const, data: '491701234567' }],
  multipleServicesSupported: true,
  services: [{ ratingGroup: 10, requested: {} }],
};

/** A raw TCP peer that reads whole Diameter messages, for tests the client cannot express. */
async function rawPeer(server: DiameterServer): Promise<{
  socket: Socket;
  next(timeoutMs?: number): Promise<DiameterMessage | undefined>;
  closed: Promise<void>;
}> {
  const socket = connect({ host: '127.0.0.1', port: server.address.port });
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const framer = new DiameterFramer();
  const queue: DiameterMessage[] = [];
  const waiters: ((message: DiameterMessage) => void)[] = [];
  socket.on('data', (chunk) =>
    framer.push(chunk, (frame) => {
      const message = decodeMessage(frame);
      const waiter = waiters.shift();
      if (waiter) waiter(message);
      else queue.push(message);
    }),
  );
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    closed,
    next(timeoutMs = 1_000) {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(done), 1);
          resolve(undefined);
        }, timeoutMs);
        const done = (message: DiameterMessage): void => {
          clearTimeout(timer);
          resolve(message);
        };
        waiters.push(done);
        void closed.then(() => {
          clearTimeout(timer);
          resolve(queue.shift());
        });
      });
    },
  };
}

function cer(extra: DiameterMessage['avps'] = [], authApplicationId = 4): Buffer {
  return encodeMessage({
    flags: CommandFlag.Request,
    commandCode: 257,
    applicationId: 0,
    hopByHopId: 1,
    endToEndId: 1,
    avps: [
      avp('Origin-Host', 'raw.operator.test'),
      avp('Origin-Realm', 'operator.test'),
      avp('Host-IP-Address', '127.0.0.1'),
      avp('Vendor-Id', 0),
      avp('Product-Name', 'raw'),
      avp('Auth-Application-Id', authApplicationId),
      ...extra,
    ],
  });
}

describe('diameter server: peer life cycle', () => {
  it('answers a CER with a CEA and lists the peer', async () => {
    const server = await startServer();
    const c = await client(server);
    const cea = c.capabilities!;
    assert.equal(cea.commandCode, 257);
    assert.equal(cea.flags & CommandFlag.Request, 0);
    assert.equal(numberValue(cea, 'Result-Code'), ResultCode.DIAMETER_SUCCESS);
    assert.equal(stringValue(cea, 'Origin-Host'), SERVER_HOST);
    assert.equal(stringValue(cea, 'Origin-Realm'), SERVER_REALM);
    assert.equal(stringValue(cea, 'Product-Name'), 'Tollgate');
    assert.equal(numberValue(cea, 'Auth-Application-Id'), 4);
    assert.equal(findAvp(cea, 'Host-IP-Address')?.value, '127.0.0.1');
    assert.equal(numberValue(cea, 'Origin-State-Id'), Date.UTC(2026, 2, 1, 10) / 1000);
    const peers = server.peers();
    assert.equal(peers.length, 1);
    assert.equal(peers[0]!.originHost, CLIENT_HOST);
    assert.deepEqual(peers[0]!.authApplicationIds, [4]);
  });

  it('refuses a peer with no common application with 5010 and closes', async () => {
    const server = await startServer();
    const peer = await rawPeer(server);
    peer.socket.write(cer([], 16_777_238));
    const cea = await peer.next();
    assert.equal(numberValue(cea!, 'Result-Code'), ResultCode.DIAMETER_NO_COMMON_APPLICATION);
    assert.equal(cea!.flags & CommandFlag.Error, 0, '5xxx answers go without the E bit');
    await peer.closed;
    assert.equal(server.peers().length, 0);
  });

  it('the client reports a refused CER', async () => {
    const server = await startServer();
    await assert.rejects(client(server, { authApplicationIds: [16_777_238] }), (error: unknown) => {
      assert.ok(isTollgateError(error));
      assert.equal(error.code, 'diameter.capabilities_rejected');
      assert.equal(error.extra?.resultCode, ResultCode.DIAMETER_NO_COMMON_APPLICATION);
      return true;
    });
  });

  it('accepts the relay application, refuses TLS-only peers with 5017 and unknown peers with 3010', async () => {
    const server = await startServer({ acceptPeer: (peer) => peer.originHost !== 'stranger.test' });
    await client(server, { authApplicationIds: [0xffffffff] });

    const tls = await rawPeer(server);
    tls.socket.write(cer([avp('Inband-Security-Id', 1)]));
    assert.equal(numberValue((await tls.next())!, 'Result-Code'), ResultCode.DIAMETER_NO_COMMON_SECURITY);

    const stranger = await rawPeer(server);
    stranger.socket.write(
      encodeMessage({
        ...decodeMessage(cer()),
        avps: decodeMessage(cer()).avps.map((a) =>
          a.name === 'Origin-Host' ? avp('Origin-Host', 'stranger.test') : a,
        ),
      }),
    );
    const refused = (await stranger.next())!;
    assert.equal(numberValue(refused, 'Result-Code'), ResultCode.DIAMETER_UNKNOWN_PEER);
    assert.equal(refused.flags & CommandFlag.Error, CommandFlag.Error, '3xxx answers carry the E bit');
    await stranger.closed;
  });

  it('answers a CER lacking a mandatory AVP with 5005 naming it', async () => {
    const server = await startServer();
    const peer = await rawPeer(server);
    const message = decodeMessage(cer());
    peer.socket.write(
      encodeMessage({ ...message, avps: message.avps.filter((a) => a.name !== 'Vendor-Id') }),
    );
    const cea = (await peer.next())!;
    assert.equal(numberValue(cea, 'Result-Code'), ResultCode.DIAMETER_MISSING_AVP);
    const failed = findAvp(cea, 'Failed-AVP')!;
    assert.equal((failed.value as DiameterMessage['avps'])[0]!.code, 266);
    await peer.closed;
  });

  it('closes a connection whose first request is not a CER, without answering', async () => {
    const server = await startServer();
    const c = await client(server, { skipCapabilitiesExchange: true });
    await assert.rejects(
      c.watchdog(),
      (error: unknown) => isTollgateError(error) && error.code === 'diameter.connection_closed',
    );
    await c.closed;
    // The server is unharmed.
    await client(server);
  });

  it('closes a connection that sends no CER in time', async () => {
    const server = await startServer({ capabilitiesTimeoutMs: 50 });
    const peer = await rawPeer(server);
    await peer.closed;
  });

  it('answers DWR with DWA', async () => {
    const server = await startServer();
    const c = await client(server);
    const dwa = await c.watchdog();
    assert.equal(dwa.commandCode, 280);
    assert.equal(numberValue(dwa, 'Result-Code'), ResultCode.DIAMETER_SUCCESS);
    assert.equal(stringValue(dwa, 'Origin-Host'), SERVER_HOST);
    assert.ok(numberValue(dwa, 'Origin-State-Id') !== undefined);
  });

  it('answers DPR with DPA and closes', async () => {
    const server = await startServer();
    const c = await client(server);
    const dpa = await c.disconnect('DO_NOT_WANT_TO_TALK_TO_YOU');
    assert.equal(dpa.commandCode, 282);
    assert.equal(numberValue(dpa, 'Result-Code'), ResultCode.DIAMETER_SUCCESS);
    await c.closed;
    for (let i = 0; i < 50 && server.peers().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.peers().length, 0);
  });

  it('sends its own DWR when idle and drops a peer that does not answer', async () => {
    const server = await startServer({ watchdogIntervalMs: 40 });
    // The client answers DWRs, so it stays connected across several intervals.
    const c = await client(server);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await c.watchdog()).commandCode, 280);

    const silent = await rawPeer(server);
    silent.socket.write(cer());
    assert.equal(numberValue((await silent.next())!, 'Result-Code'), 2001);
    const dwr = (await silent.next())!;
    assert.equal(dwr.commandCode, 280);
    assert.equal(dwr.flags & CommandFlag.Request, CommandFlag.Request);
    await silent.closed;
  });

  it('on close, sends DPR to connected peers and closes after the DPA', async () => {
    const server = await startServer();
    const c = await client(server);
    await server.close();
    await c.closed;
    servers.splice(servers.indexOf(server), 1);
  });
});

describe('diameter server: credit control', () => {
  it('hands a CCR to the handler and answers with the CCA', async () => {
    const calls: Call[] = [];
    const server = await startServer({ creditControl: grantingHandler(calls) });
    const c = await client(server);
    const cca = await c.creditControl(CCR);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.request.sessionId, CCR.sessionId);
    assert.equal(calls[0]!.request.requestType, 'INITIAL');
    assert.equal(calls[0]!.peer.originHost, CLIENT_HOST);
    assert.equal(cca.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(cca.sessionId, CCR.sessionId);
    assert.equal(cca.originHost, SERVER_HOST);
    assert.equal(cca.requestType, 'INITIAL');
    assert.equal(cca.requestNumber, 0);
    assert.deepEqual(cca.services, [
      { ratingGroup: 10, resultCode: 2001, validityTimeSec: 600, granted: { totalOctets: 1_048_576n } },
    ]);
    assert.equal(numberValue(cca.message, 'Auth-Application-Id'), 4);
    assert.equal(server.counters().creditControlAnswers, 1);
  });

  it('answers 5012 when the handler fails or returns an unencodable answer', async () => {
    let mode: 'throw' | 'bad' = 'throw';
    const server = await startServer({
      creditControl: {
        async creditControl(): Promise<CreditControlAnswer> {
          if (mode === 'throw') throw new Error('database down');
          return { resultCode: -1 };
        },
      },
    });
    const c = await client(server);
    assert.equal((await c.creditControl(CCR)).resultCode, ResultCode.DIAMETER_UNABLE_TO_COMPLY);
    mode = 'bad';
    assert.equal((await c.creditControl(CCR)).resultCode, ResultCode.DIAMETER_UNABLE_TO_COMPLY);
    assert.equal(server.counters().handlerFailures, 2);
  });

  it('answers a CCR lacking a mandatory AVP with 5005, keeping the CCA fields', async () => {
    const server = await startServer();
    const c = await client(server);
    const ccr = await c.request({
      flags: CommandFlag.Request | CommandFlag.Proxiable,
      commandCode: 272,
      applicationId: 4,
      avps: [
        avp('Session-Id', 's-missing'),
        avp('Origin-Host', CLIENT_HOST),
        avp('Origin-Realm', 'operator.test'),
        avp('Destination-Realm', SERVER_REALM),
        avp('Auth-Application-Id', 4),
        avp('CC-Request-Type', 1),
        avp('CC-Request-Number', 0),
        avp('Proxy-Info', [avp('Proxy-Host', 'dra.test'), avp('Proxy-State', Buffer.from('x'))]),
      ],
    });
    assert.equal(numberValue(ccr, 'Result-Code'), ResultCode.DIAMETER_MISSING_AVP);
    assert.equal(ccr.flags & CommandFlag.Error, 0);
    assert.equal(stringValue(ccr, 'Session-Id'), 's-missing');
    assert.equal(numberValue(ccr, 'CC-Request-Type'), 1);
    assert.equal(numberValue(ccr, 'CC-Request-Number'), 0);
    assert.match(stringValue(ccr, 'Error-Message') ?? '', /Service-Context-Id/);
    assert.equal((findAvp(ccr, 'Failed-AVP')!.value as DiameterMessage['avps'])[0]!.code, 461);
    assert.equal(findAvps(ccr, 'Proxy-Info').length, 1);
  });

  it('answers a CCR with an unknown M-bit AVP with 5001 and Failed-AVP, and keeps the connection', async () => {
    const server = await startServer();
    const c = await client(server);
    const peer = await rawPeer(server);
    peer.socket.write(cer());
    await peer.next();
    const good = encodeMessage({
      flags: CommandFlag.Request,
      commandCode: 272,
      applicationId: 4,
      hopByHopId: 77,
      endToEndId: 78,
      avps: [avp('Session-Id', 'bad-avp'), avp('CC-Request-Type', 1), avp('CC-Request-Number', 5)],
    });
    // Append an unknown vendor AVP with the M bit: code 9999, vendor 4242, 4 octets.
    const extra = Buffer.from('0000270fc000001000001092deadbeef', 'hex');
    const bytes = Buffer.concat([good, extra]);
    bytes.writeUIntBE(bytes.length, 1, 3);
    peer.socket.write(bytes);
    const answer = (await peer.next())!;
    assert.equal(answer.hopByHopId, 77);
    assert.equal(numberValue(answer, 'Result-Code'), ResultCode.DIAMETER_AVP_UNSUPPORTED);
    assert.equal(answer.flags & CommandFlag.Error, 0);
    assert.equal(Buffer.from(findAvp(answer, 'Session-Id')!.value as string).toString(), 'bad-avp');
    assert.equal(numberValue(answer, 'CC-Request-Number'), 5);
    const failed = (findAvp(answer, 'Failed-AVP')!.value as DiameterMessage['avps'])[0]!;
    assert.deepEqual([failed.code, failed.vendorId], [9999, 4242]);
    // Both connections keep working.
    peer.socket.write(
      encodeMessage({
        flags: CommandFlag.Request,
        commandCode: 280,
        applicationId: 0,
        hopByHopId: 79,
        endToEndId: 80,
        avps: [],
      }),
    );
    assert.equal((await peer.next())!.commandCode, 280);
    assert.equal((await c.creditControl(CCR)).resultCode, 2001);
  });

  it('answers a request with the E bit with 3008, and unknown commands and applications with 3001 and 3007', async () => {
    const server = await startServer();
    const peer = await rawPeer(server);
    peer.socket.write(cer());
    await peer.next();
    const request = (flags: number, commandCode: number, applicationId: number, hopByHopId: number): Buffer =>
      encodeMessage({
        flags,
        commandCode,
        applicationId,
        hopByHopId,
        endToEndId: hopByHopId,
        avps: [avp('Session-Id', 'x')],
      });
    const withErrorBit = request(CommandFlag.Request, 272, 4, 11);
    withErrorBit[4] = CommandFlag.Request | CommandFlag.Error;
    peer.socket.write(withErrorBit);
    const hdr = (await peer.next())!;
    assert.equal(numberValue(hdr, 'Result-Code'), ResultCode.DIAMETER_INVALID_HDR_BITS);
    assert.equal(hdr.flags & CommandFlag.Error, CommandFlag.Error);
    assert.equal(stringValue(hdr, 'Origin-Host'), SERVER_HOST);

    peer.socket.write(request(CommandFlag.Request | CommandFlag.Proxiable, 275, 4, 12));
    const command = (await peer.next())!;
    assert.equal(numberValue(command, 'Result-Code'), ResultCode.DIAMETER_COMMAND_UNSUPPORTED);
    assert.equal(command.flags, CommandFlag.Error | CommandFlag.Proxiable, 'E set, P copied');
    assert.equal(stringValue(command, 'Session-Id'), 'x');

    peer.socket.write(request(CommandFlag.Request, 272, 16_777_238, 13));
    assert.equal(
      numberValue((await peer.next())!, 'Result-Code'),
      ResultCode.DIAMETER_APPLICATION_UNSUPPORTED,
    );
  });

  it('survives garbage: answers a readable bad header, closes the stream, keeps serving others', async () => {
    const server = await startServer();
    const peer = await rawPeer(server);
    peer.socket.write(cer());
    await peer.next();
    const badVersion = encodeMessage({
      flags: CommandFlag.Request,
      commandCode: 272,
      applicationId: 4,
      hopByHopId: 21,
      endToEndId: 21,
      avps: [avp('Session-Id', 'v2')],
    });
    badVersion[0] = 2;
    peer.socket.write(badVersion);
    const answer = (await peer.next())!;
    assert.equal(numberValue(answer, 'Result-Code'), ResultCode.DIAMETER_UNSUPPORTED_VERSION);
    assert.equal(answer.hopByHopId, 21);
    await peer.closed;

    const junk = await rawPeer(server);
    junk.socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await junk.closed;

    const truncated = await rawPeer(server);
    truncated.socket.write(cer());
    await truncated.next();
    truncated.socket.write(Buffer.from([1, 0, 0, 8, 0x80]));
    await truncated.closed;

    const c = await client(server);
    assert.equal((await c.creditControl(CCR)).resultCode, 2001);
    assert.ok(server.counters().decodeErrors >= 3);
  });

  it('handles pipelined requests concurrently and answers them in any order', async () => {
    const calls: Call[] = [];
    // Later requests finish first.
    const server = await startServer({
      creditControl: grantingHandler(calls, (r) => 100 - r.requestNumber * 4),
    });
    const c = await client(server);
    const finished: number[] = [];
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        c
          .creditControl({ ...CCR, sessionId: `s-${n}`, requestType: 'UPDATE', requestNumber: n })
          .then((answer) => {
            finished.push(n);
            return answer;
          }),
      ),
    );
    answers.forEach((answer, n) => {
      assert.equal(answer.sessionId, `s-${n}`);
      assert.equal(answer.requestNumber, n);
    });
    assert.equal(calls.length, 20);
    assert.notDeepEqual(
      finished,
      [...finished].sort((a, b) => a - b),
      'answers came back out of order',
    );
  });

  it('answers an exact retransmission from the cache, re-stamped with its Hop-by-Hop Identifier', async () => {
    const calls: Call[] = [];
    const server = await startServer({ creditControl: grantingHandler(calls) });
    const c = await client(server);
    const first = await c.creditControl(CCR, { endToEndId: 4242 });
    const again = await c.creditControl(CCR, { endToEndId: 4242, retransmission: true });
    assert.equal(calls.length, 1, 'the handler is not called for a cached retransmission');
    assert.equal(server.counters().answeredFromCache, 1);
    assert.notEqual(again.message.hopByHopId, first.message.hopByHopId);
    assert.deepEqual(again.services, first.services);
  });

  it('passes a retransmission it has no answer for to the handler, marked', async () => {
    const calls: Call[] = [];
    const server = await startServer({ creditControl: grantingHandler(calls), answerCacheSize: 0 });
    const c = await client(server);
    await c.creditControl(CCR, { endToEndId: 5, retransmission: true });
    await c.creditControl(CCR, { endToEndId: 5, retransmission: true });
    assert.deepEqual(
      calls.map((call) => call.request.retransmission),
      [true, true],
    );
  });

  it('answers 3004 DIAMETER_TOO_BUSY beyond the in-flight limit', async () => {
    const server = await startServer({
      creditControl: grantingHandler([], () => 50),
      maxInFlightPerConnection: 2,
    });
    const c = await client(server);
    const results = await Promise.all(
      [0, 1, 2].map((n) => c.creditControl({ ...CCR, sessionId: `busy-${n}`, requestNumber: n })),
    );
    assert.deepEqual(
      results.map((r) => r.resultCode),
      [2001, 2001, ResultCode.DIAMETER_TOO_BUSY],
    );
    assert.equal(results[2]!.message.flags & CommandFlag.Error, CommandFlag.Error);
  });
});

describe('diameter server: re-auth', () => {
  it('sends a RAR to a connected peer and resolves with the RAA', async () => {
    const server = await startServer();
    const c = await client(server, { onReAuthRequest: () => ResultCode.DIAMETER_SUCCESS });
    const answer = await server.sendReAuthRequest(CLIENT_HOST, {
      sessionId: 'pgw.operator.test;1;1',
      ratingGroup: 10,
    });
    assert.equal(answer.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(answer.sessionId, 'pgw.operator.test;1;1');
    assert.equal(answer.originHost, CLIENT_HOST);
    assert.equal(c.reAuthRequests.length, 1);
    const rar = c.reAuthRequests[0]!;
    assert.equal(stringValue(rar, 'Destination-Host'), CLIENT_HOST);
    assert.equal(stringValue(rar, 'Origin-Host'), SERVER_HOST);
    assert.equal(numberValue(rar, 'Rating-Group'), 10);
  });

  it('passes on the peer result code, and refuses a peer that is not connected', async () => {
    const server = await startServer();
    await client(server, { onReAuthRequest: () => ResultCode.DIAMETER_UNKNOWN_SESSION_ID });
    assert.equal((await server.sendReAuthRequest(CLIENT_HOST, { sessionId: 'gone' })).resultCode, 5002);
    await assert.rejects(
      server.sendReAuthRequest('nobody.test', { sessionId: 's' }),
      (error: unknown) => isTollgateError(error) && error.code === 'diameter.peer_not_connected',
    );
  });

  it('times out a RAR the peer never answers', async () => {
    const server = await startServer({ requestTimeoutMs: 50 });
    const peer = await rawPeer(server);
    peer.socket.write(cer());
    await peer.next();
    await assert.rejects(
      server.sendReAuthRequest('raw.operator.test', { sessionId: 's' }),
      (error: unknown) => isTollgateError(error) && error.code === 'diameter.request_timeout',
    );
    assert.equal((await peer.next())!.commandCode, 258, 'the RAR did reach the peer');
  });
});

describe('diameter server: re-authorising a session', () => {
  const sessionOf = (sessionId: string, requestType: 'INITIAL' | 'UPDATE' | 'TERMINATE' = 'INITIAL') => ({
    ...CCR,
    sessionId,
    requestType,
    requestNumber: { INITIAL: 0, UPDATE: 1, TERMINATE: 2 }[requestType],
  });

  it('sends the RAR to the peer the session came from and matches each RAA to its RAR', async () => {
    const server = await startServer();
    // Pipelined RARs answered out of order: the slow one is sent first and answered last.
    const a = await client(server, { originHost: 'pgw-a.operator.test', originRealm: 'a.operator.test' });
    const b = await client(server, {
      originHost: 'pgw-b.operator.test',
      originRealm: 'b.operator.test',
      onReAuthRequest: async (rar) => {
        if (stringValue(rar, 'Session-Id') !== 'b;slow') return ResultCode.DIAMETER_SUCCESS;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return ResultCode.DIAMETER_LIMITED_SUCCESS;
      },
    });
    await a.creditControl(sessionOf('a;1'));
    await b.creditControl(sessionOf('b;slow'));
    await b.creditControl(sessionOf('b;fast', 'INITIAL'));
    assert.deepEqual(server.sessionRoute('b;fast'), {
      peer: 'pgw-b.operator.test',
      destinationHost: 'pgw-b.operator.test',
      destinationRealm: 'b.operator.test',
      multipleServices: true,
    });

    const [slow, fast] = await Promise.all([
      server.reAuthorizeSession('b;slow', { ratingGroup: 10 }),
      server.reAuthorizeSession('b;fast', { ratingGroup: 20 }),
    ]);
    assert.equal(slow?.sessionId, 'b;slow');
    assert.equal(slow?.resultCode, ResultCode.DIAMETER_LIMITED_SUCCESS);
    assert.equal(fast?.sessionId, 'b;fast');
    assert.equal(fast?.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(a.reAuthRequests.length, 0, 'nothing to the other peer');
    assert.equal(b.reAuthRequests.length, 2);
    const rar = b.reAuthRequests.find((m) => stringValue(m, 'Session-Id') === 'b;slow')!;
    assert.equal(rar.commandCode, 258);
    assert.equal(rar.applicationId, 4);
    assert.equal(rar.flags & CommandFlag.Request, CommandFlag.Request);
    assert.equal(stringValue(rar, 'Origin-Host'), SERVER_HOST);
    assert.equal(stringValue(rar, 'Origin-Realm'), SERVER_REALM);
    assert.equal(stringValue(rar, 'Destination-Host'), 'pgw-b.operator.test');
    assert.equal(stringValue(rar, 'Destination-Realm'), 'b.operator.test');
    assert.equal(numberValue(rar, 'Auth-Application-Id'), 4);
    assert.equal(numberValue(rar, 'Re-Auth-Request-Type'), 0, 'AUTHORIZE_ONLY');
    assert.deepEqual(
      findAvps(rar, 'Rating-Group').map((x) => x.value),
      [10],
    );
    assert.equal(server.counters().reAuthRequests, 2);
    assert.equal(server.counters().reAuthAnswers, 2);
  });

  it('sends nothing for a session it does not know, that terminated, or that failed for good', async () => {
    const calls: Call[] = [];
    const granting = grantingHandler(calls);
    const server = await startServer({
      creditControl: {
        creditControl: (request, peer) =>
          request.sessionId === 'unknown-user'
            ? Promise.resolve({ resultCode: ResultCode.DIAMETER_USER_UNKNOWN })
            : granting.creditControl(request, peer),
      },
    });
    const c = await client(server);
    await c.creditControl(sessionOf('ended'));
    await c.creditControl(sessionOf('ended', 'TERMINATE'));
    assert.equal((await c.creditControl(sessionOf('unknown-user'))).resultCode, 5030);
    await c.creditControl({ ...sessionOf('event'), requestType: 'EVENT' });
    for (const sessionId of ['never-seen', 'ended', 'unknown-user', 'event']) {
      assert.equal(server.sessionRoute(sessionId), undefined, sessionId);
      assert.equal(await server.reAuthorizeSession(sessionId, { ratingGroup: 10 }), undefined, sessionId);
    }
    assert.equal(c.reAuthRequests.length, 0);
    assert.equal(server.counters().reAuthRequests, 0);
    assert.equal(server.counters().sessionRoutes, 0);
  });

  it('answers through a relay agent: over its connection, to the client behind it', async () => {
    const server = await startServer();
    const relay = await client(server, { originHost: 'dra.operator.test', originRealm: 'operator.test' });
    const ccr = buildCreditControlRequest(
      {
        ...sessionOf('far;1'),
        originHost: 'pgw.far.test',
        originRealm: 'far.test',
        destinationRealm: SERVER_REALM,
      },
      { hopByHopId: 0, endToEndId: 77 },
    );
    const { hopByHopId: _hop, ...withoutHop } = ccr;
    assert.equal(parseCreditControlAnswer(await relay.request(withoutHop)).resultCode, 2001);
    const answer = await server.reAuthorizeSession('far;1', { ratingGroup: 10 });
    assert.equal(answer?.resultCode, ResultCode.DIAMETER_SUCCESS);
    const rar = relay.reAuthRequests[0]!;
    assert.equal(stringValue(rar, 'Destination-Host'), 'pgw.far.test');
    assert.equal(stringValue(rar, 'Destination-Realm'), 'far.test');
  });

  it('re-authorises the whole session of a single-service client (no Rating-Group)', async () => {
    const server = await startServer();
    const c = await client(server);
    await c.creditControl({ ...sessionOf('single'), services: [], requested: {} });
    assert.equal(server.sessionRoute('single')?.multipleServices, false);
    await server.reAuthorizeSession('single', { ratingGroup: 10 });
    assert.equal(findAvps(c.reAuthRequests[0]!, 'Rating-Group').length, 0);
  });

  it('forgets a session the client answers 5002 DIAMETER_UNKNOWN_SESSION_ID for', async () => {
    const server = await startServer();
    const c = await client(server, { onReAuthRequest: () => ResultCode.DIAMETER_UNKNOWN_SESSION_ID });
    await c.creditControl(sessionOf('gone'));
    assert.equal((await server.reAuthorizeSession('gone'))?.resultCode, 5002);
    assert.equal(server.sessionRoute('gone'), undefined);
    assert.equal(await server.reAuthorizeSession('gone'), undefined);
    assert.equal(c.reAuthRequests.length, 1);
  });

  it('reaches a peer over its new connection after it reconnected', async () => {
    const server = await startServer();
    const first = await client(server);
    await first.creditControl(sessionOf('s;1'));
    first.close();
    await first.closed;
    const second = await client(server);
    assert.equal((await server.reAuthorizeSession('s;1'))?.resultCode, ResultCode.DIAMETER_SUCCESS);
    assert.equal(second.reAuthRequests.length, 1);
  });

  it('rejects when the peer is gone, and times out a RAR the peer never answers', async () => {
    const server = await startServer({ requestTimeoutMs: 50 });
    const gone = await client(server, { originHost: 'gone.operator.test' });
    await gone.creditControl(sessionOf('gone;1'));
    gone.close();
    await gone.closed;
    await waitFor(() => server.peers().length === 0);
    await assert.rejects(
      server.reAuthorizeSession('gone;1'),
      (error: unknown) => isTollgateError(error) && error.code === 'diameter.peer_not_connected',
    );

    const peer = await rawPeer(server);
    peer.socket.write(cer());
    await peer.next();
    peer.socket.write(
      encodeMessage(
        buildCreditControlRequest(
          {
            ...sessionOf('raw;1'),
            originHost: 'raw.operator.test',
            originRealm: 'operator.test',
            destinationRealm: SERVER_REALM,
          },
          { hopByHopId: 5, endToEndId: 5 },
        ),
      ),
    );
    assert.equal((await peer.next())!.commandCode, 272);
    await assert.rejects(
      server.reAuthorizeSession('raw;1'),
      (error: unknown) => isTollgateError(error) && error.code === 'diameter.request_timeout',
    );
  });

  it('keeps at most sessionRouteCapacity sessions, and each until capacity / 2 others were heard from', async () => {
    const capacity = 6;
    const server = await startServer({ sessionRouteCapacity: capacity });
    const c = await client(server);
    // Per session still open: the sessions heard from since it was last.
    const othersSince = new Map<string, Set<string>>();
    let forgotten = 0;
    // A fixed pseudo-random walk over ten sessions: new ones, updates, terminations.
    let seed = 7;
    for (let step = 0; step < 80; step++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const sessionId = `s${(seed >>> 8) % 10}`;
      const terminate = (seed >>> 4) % 9 === 0;
      const requestType = terminate ? 'TERMINATE' : othersSince.has(sessionId) ? 'UPDATE' : 'INITIAL';
      await c.creditControl({ ...sessionOf(sessionId, requestType), requestNumber: step });
      for (const [other, heard] of othersSince) if (other !== sessionId) heard.add(sessionId);
      if (terminate) othersSince.delete(sessionId);
      else othersSince.set(sessionId, new Set());

      assert.ok(server.counters().sessionRoutes <= capacity, `step ${step}: at most ${capacity}`);
      for (let n = 0; n < 10; n++) {
        const id = `s${n}`;
        const heard = othersSince.get(id);
        const known = server.sessionRoute(id) !== undefined;
        if (heard === undefined) assert.equal(known, false, `step ${step}: ${id} terminated or never seen`);
        else if (heard.size < capacity / 2) assert.equal(known, true, `step ${step}: ${id} is recent`);
        else if (!known) forgotten += 1;
      }
    }
    assert.ok(forgotten > 0, 'the walk made the server forget some sessions');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
