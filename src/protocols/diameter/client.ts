/**
 * A small Diameter credit-control client: connect, exchange capabilities, send CCRs and await the
 * CCAs (several in flight, matched by Hop-by-Hop Identifier), DWR and DPR. The tests drive the
 * server with it, and a load generator can too. It answers the server's own requests: DWR with
 * DWA, DPR with DPA (then closes), RAR with RAA (Result-Code from `onReAuthRequest`, 2001 by
 * default).
 */
import { connect, type Socket } from 'node:net';
import { systemClock, type Clock } from '../../kernel/clock.js';
import { fail } from '../../kernel/errors.js';
import {
  CommandFlag,
  DEFAULT_MAX_MESSAGE_LENGTH,
  answerHeader,
  avp,
  encodeMessage,
  numberValue,
  type DiameterAvp,
  type DiameterMessage,
} from './codec.js';
import { DiameterConnection, nextEndToEndId, type DiameterLogger } from './connection.js';
import {
  buildCreditControlRequest,
  buildReAuthAnswer,
  parseCreditControlAnswer,
  type CreditControlRequestInit,
  type ParsedCreditControlAnswer,
} from './credit-control.js';
import {
  DiameterApplication,
  DiameterCommand,
  defaultDictionary,
  type DiameterDictionary,
} from './dictionary.js';
import { DiameterErrors } from './errors.js';
import { ResultCode } from './result-codes.js';

export interface DiameterClientOptions {
  readonly host?: string;
  readonly port: number;
  readonly originHost: string;
  readonly originRealm: string;
  /** Destination-Realm of our CCRs; the server's Origin-Realm from the CEA when not given. */
  readonly destinationRealm?: string;
  /** Host-IP-Address of the CER; the socket's local address when not given. */
  readonly hostIpAddress?: string;
  readonly productName?: string;
  readonly vendorId?: number;
  /** Auth-Application-Id values of the CER; [4] by default. */
  readonly authApplicationIds?: readonly number[];
  /** Inband-Security-Id values of the CER; none by default. */
  readonly inbandSecurityIds?: readonly number[];
  readonly requestTimeoutMs?: number;
  readonly maxMessageLength?: number;
  readonly clock?: Clock;
  readonly logger?: DiameterLogger;
  readonly dictionary?: DiameterDictionary;
  /** Leave out the CER (to test a server's handling of requests before capabilities exchange). */
  readonly skipCapabilitiesExchange?: boolean;
  /** The Result-Code to answer a RAR with; 2001 by default. */
  readonly onReAuthRequest?: (request: DiameterMessage) => number | Promise<number>;
}

/** A CCR as the client's caller gives it: our origin and the destination realm are filled in. */
export type ClientCreditControlRequest = Omit<
  CreditControlRequestInit,
  'originHost' | 'originRealm' | 'destinationRealm'
> & { readonly destinationRealm?: string };

export interface DiameterClient {
  /** The CEA, once capabilities were exchanged. */
  readonly capabilities: DiameterMessage | undefined;
  /** Sends any request (identifiers filled in) and resolves with its answer. */
  request(
    message: Omit<DiameterMessage, 'hopByHopId' | 'endToEndId'> & { readonly endToEndId?: number },
  ): Promise<DiameterMessage>;
  /** Sends a CCR and resolves with the CCA, read (a Result-Code of 5xxx resolves too). */
  creditControl(
    request: ClientCreditControlRequest,
    options?: { readonly retransmission?: boolean; readonly endToEndId?: number },
  ): Promise<ParsedCreditControlAnswer>;
  watchdog(): Promise<DiameterMessage>;
  /** DPR, then waits for the DPA and closes. */
  disconnect(cause?: 'REBOOTING' | 'BUSY' | 'DO_NOT_WANT_TO_TALK_TO_YOU'): Promise<DiameterMessage>;
  /** Writes raw bytes (tests of malformed input). */
  sendRaw(bytes: Uint8Array): void;
  /** RARs received so far. */
  readonly reAuthRequests: readonly DiameterMessage[];
  readonly closed: Promise<void>;
  /** Closes at once, without DPR. */
  close(): void;
}

/** Connects and, unless told not to, exchanges capabilities; rejects when the CEA is not 2001. */
export async function connectDiameterClient(options: DiameterClientOptions): Promise<DiameterClient> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: options.host ?? '127.0.0.1', port: options.port, noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
  const local = { originHost: options.originHost, originRealm: options.originRealm };
  const reAuthRequests: DiameterMessage[] = [];
  const connection: DiameterConnection = new DiameterConnection(
    socket,
    {
      maxMessageLength: options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH,
      dictionary: options.dictionary ?? defaultDictionary,
      requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
      clock,
      ...(logger === undefined ? {} : { logger }),
    },
    {
      onRequest: (message) => void onServerRequest(message),
      onDecodeError: (error) =>
        logger?.warn({ reason: error.message }, 'diameter client could not decode a message'),
      onClose: () => undefined,
    },
  );

  async function onServerRequest(message: DiameterMessage): Promise<void> {
    const base = [
      avp('Result-Code', ResultCode.DIAMETER_SUCCESS),
      avp('Origin-Host', local.originHost),
      avp('Origin-Realm', local.originRealm),
    ];
    switch (message.commandCode) {
      case DiameterCommand.DeviceWatchdog:
        connection.send(encodeMessage({ ...answerHeader(message), avps: base }));
        return;
      case DiameterCommand.DisconnectPeer:
        connection.send(encodeMessage({ ...answerHeader(message), avps: base }));
        connection.end();
        return;
      case DiameterCommand.ReAuth: {
        reAuthRequests.push(message);
        const resultCode =
          options.onReAuthRequest === undefined ? 2001 : await options.onReAuthRequest(message);
        connection.send(encodeMessage(buildReAuthAnswer(message, resultCode, local)));
        return;
      }
      default:
        connection.send(
          encodeMessage({
            ...answerHeader(message, true),
            avps: [
              avp('Result-Code', ResultCode.DIAMETER_COMMAND_UNSUPPORTED),
              avp('Origin-Host', local.originHost),
              avp('Origin-Realm', local.originRealm),
            ],
          }),
        );
    }
  }

  let capabilities: DiameterMessage | undefined;
  if (!options.skipCapabilitiesExchange) {
    const avps: DiameterAvp[] = [
      avp('Origin-Host', local.originHost),
      avp('Origin-Realm', local.originRealm),
      avp('Host-IP-Address', options.hostIpAddress ?? plainAddress(socket.localAddress ?? '127.0.0.1')),
      avp('Vendor-Id', options.vendorId ?? 0),
      avp('Product-Name', options.productName ?? 'Tollgate Diameter client'),
      avp('Origin-State-Id', Math.floor(clock.nowMs() / 1000) >>> 0),
    ];
    for (const id of options.inbandSecurityIds ?? []) avps.push(avp('Inband-Security-Id', id));
    for (const id of options.authApplicationIds ?? [DiameterApplication.CreditControl]) {
      avps.push(avp('Auth-Application-Id', id));
    }
    let answer: DiameterMessage;
    try {
      answer = await connection.request({
        flags: CommandFlag.Request,
        commandCode: DiameterCommand.CapabilitiesExchange,
        applicationId: DiameterApplication.Common,
        avps,
      });
    } catch (error) {
      connection.destroy();
      throw error;
    }
    const resultCode = numberValue(answer, 'Result-Code');
    if (resultCode !== ResultCode.DIAMETER_SUCCESS) {
      connection.destroy();
      throw fail(DiameterErrors.capabilities_rejected, `the CEA carries Result-Code ${resultCode}`, {
        extra: { resultCode },
      });
    }
    capabilities = answer;
  }

  const serverRealm = capabilities?.avps.find((a) => a.code === 296 && a.vendorId === 0)?.value as
    string | undefined;
  return {
    capabilities,
    reAuthRequests,
    closed: connection.closed,
    request: (message) => connection.request(message),
    async creditControl(request, requestOptions = {}) {
      const message = buildCreditControlRequest(
        {
          ...request,
          originHost: local.originHost,
          originRealm: local.originRealm,
          destinationRealm:
            request.destinationRealm ?? options.destinationRealm ?? serverRealm ?? local.originRealm,
        },
        {
          hopByHopId: 0,
          endToEndId: requestOptions.endToEndId ?? nextEndToEndId(clock),
          retransmission: requestOptions.retransmission ?? false,
        },
      );
      const { hopByHopId: _hop, ...withoutHop } = message;
      return parseCreditControlAnswer(await connection.request(withoutHop));
    },
    watchdog: () =>
      connection.request({
        flags: CommandFlag.Request,
        commandCode: DiameterCommand.DeviceWatchdog,
        applicationId: DiameterApplication.Common,
        avps: [avp('Origin-Host', local.originHost), avp('Origin-Realm', local.originRealm)],
      }),
    async disconnect(cause = 'REBOOTING') {
      const answer = await connection.request({
        flags: CommandFlag.Request,
        commandCode: DiameterCommand.DisconnectPeer,
        applicationId: DiameterApplication.Common,
        avps: [
          avp('Origin-Host', local.originHost),
          avp('Origin-Realm', local.originRealm),
          avp('Disconnect-Cause', cause),
        ],
      });
      connection.end();
      await connection.closed;
      return answer;
    },
    sendRaw: (bytes) => connection.send(bytes),
    close: () => connection.destroy(),
  };
}

function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
