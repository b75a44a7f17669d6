/**
 * The charging benchmark's Diameter Gy client: one TCP connection to the server, capabilities
 * exchanged (CER/CEA) with the project's codec, then data-session CCRs pipelined and matched to
 * their CCAs by Hop-by-Hop Identifier (RFC 6733 section 3).
 *
 * Two ways to make a CCR and read its CCA, chosen per connection (BENCH_DIAMETER_CODEC):
 * - `template` (the default): each request type (INITIAL, UPDATE, TERMINATE) is encoded once with
 *   the project's codec, with a Session-Id and an MSISDN of fixed width; a request is that template
 *   copied into the output buffer with Session-Id, Subscription-Id-Data, CC-Request-Number, the
 *   Hop-by-Hop and End-to-End Identifiers and CC-Total-Octets written in place. The CCA is read by
 *   walking its AVP headers for Result-Code, at the top and inside each
 *   Multiple-Services-Credit-Control, and nothing else;
 * - `codec`: buildCreditControlRequest + encodeMessage per request, decodeMessage +
 *   parseCreditControlAnswer per answer: what the project's own client does.
 * The bench prints the CPU per CCR of the one it used, so the two can be compared.
 *
 * Writes of one event-loop turn go out in one socket write. The server's own requests are answered:
 * DWR with DWA, RAR with RAA, DPR with DPA (and then the connection closes).
 */
import { connect as netConnect, type Socket } from 'node:net';
import {
  CommandFlag,
  DiameterFramer,
  answerHeader,
  avp,
  decodeMessage,
  encodeMessage,
  numberValue,
  stringValue,
  type DiameterMessage,
} from '../src/protocols/diameter/codec.js';
import {
  buildCreditControlRequest,
  buildReAuthAnswer,
  parseCreditControlAnswer,
  type CcRequestType,
  type CreditControlRequestInit,
} from '../src/protocols/diameter/credit-control.js';
import { DiameterApplication, DiameterCommand } from '../src/protocols/diameter/dictionary.js';

export type GyEncoding = 'template' | 'codec';

export interface GyClientOptions {
  readonly host?: string;
  readonly port: number;
  readonly originHost: string;
  readonly originRealm: string;
  readonly encoding: GyEncoding;
}

/** One CCR of a data session on rating group 10. */
export interface GyRequest {
  readonly type: Exclude<CcRequestType, 'EVENT'>;
  /** The session's number: Session-Id is `SESSION_PREFIX` and the number in 10 digits. */
  readonly session: number;
  readonly requestNumber: number;
  /** The subscriber's MSISDN (END_USER_E164), `MSISDN_LENGTH` digits. */
  readonly msisdn: string;
  /** CC-Total-Octets of the Used-Service-Unit (UPDATE and TERMINATE). */
  readonly usedOctets: number;
}

export const SESSION_PREFIX = 'bench.tollgate;';
const SESSION_DIGITS = 10;
export const MSISDN_LENGTH = 13;
const SUCCESS = 2001;
const SERVICE_CONTEXT = '32251@3gpp.org';
const RATING_GROUP = 10;

const sessionId = (session: number): string =>
  `${SESSION_PREFIX}${String(session).padStart(SESSION_DIGITS, '0')}`;

/** Where a template's variable fields are, as octet offsets into the encoded CCR. */
interface Template {
  readonly bytes: Buffer;
  readonly sessionIdAt: number;
  readonly requestNumberAt: number;
  readonly msisdnAt: number;
  /** CC-Total-Octets of the Used-Service-Unit; -1 when the request reports no usage. */
  readonly usedOctetsAt: number;
}

interface Pending {
  readonly resolve: (resultCode: number) => void;
  readonly reject: (error: Error) => void;
}

export class GyConnection {
  private readonly framer = new DiameterFramer();
  private readonly pending = new Map<number, Pending>();
  private readonly templates: Readonly<Record<GyRequest['type'], Template>>;
  private hopByHop = 1;
  private endToEnd: number;
  private out: Buffer = Buffer.allocUnsafe(64 * 1024);
  private outLength = 0;
  private flushScheduled = false;
  private failure: Error | undefined;
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    private readonly options: GyClientOptions,
    private readonly destinationRealm: string,
  ) {
    // RFC 6733 section 3: End-to-End Identifiers start from a time-based value.
    this.endToEnd = ((Math.floor(Date.now() / 1000) & 0xfff) << 20) >>> 0;
    this.templates = {
      INITIAL: this.template('INITIAL'),
      UPDATE: this.template('UPDATE'),
      TERMINATE: this.template('TERMINATE'),
    };
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      const failure = this.framer.push(chunk, (frame) => this.onMessage(frame));
      if (failure !== undefined)
        this.fail(new Error(`the Diameter stream cannot be framed: ${failure.message}`));
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the Diameter connection closed')));
  }

  /** Connects and exchanges capabilities; rejects unless the CEA carries 2001. */
  static async connect(options: GyClientOptions): Promise<GyConnection> {
    const socket: Socket = await new Promise((resolve, reject) => {
      const s = netConnect({ host: options.host ?? '127.0.0.1', port: options.port, noDelay: true });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
    });
    const cea = await new Promise<DiameterMessage>((resolve, reject) => {
      const framer = new DiameterFramer();
      const onData = (chunk: Buffer): void => {
        framer.push(chunk, (frame) => {
          socket.off('data', onData);
          socket.off('error', reject);
          try {
            resolve(decodeMessage(frame));
          } catch (error) {
            reject(error as Error);
          }
        });
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(
        encodeMessage({
          flags: CommandFlag.Request,
          commandCode: DiameterCommand.CapabilitiesExchange,
          applicationId: DiameterApplication.Common,
          hopByHopId: 0,
          endToEndId: 0,
          avps: [
            avp('Origin-Host', options.originHost),
            avp('Origin-Realm', options.originRealm),
            avp('Host-IP-Address', '127.0.0.1'),
            avp('Vendor-Id', 0),
            avp('Product-Name', 'Tollgate charging bench'),
            avp('Auth-Application-Id', DiameterApplication.CreditControl),
          ],
        }),
      );
    });
    const resultCode = numberValue(cea, 'Result-Code');
    if (resultCode !== SUCCESS) {
      socket.destroy();
      throw new Error(`the CEA carries Result-Code ${resultCode}`);
    }
    return new GyConnection(socket, options, stringValue(cea, 'Origin-Realm') ?? options.originRealm);
  }

  /** CCRs awaiting their CCA. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends one CCR; resolves with 2001 when the CCA and every Multiple-Services-Credit-Control in it
   * carry 2001, else with the first other Result-Code (0 when the CCA has none).
   */
  creditControl(request: GyRequest): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      const hopByHop = this.hopByHop;
      this.hopByHop = (this.hopByHop + 1) >>> 0;
      this.endToEnd = (this.endToEnd + 1) >>> 0;
      this.pending.set(hopByHop, { resolve, reject });
      if (this.options.encoding === 'codec') this.append(encodeMessage(this.build(request, hopByHop)));
      else this.fromTemplate(request, hopByHop);
      this.scheduleFlush();
    });
  }

  /** DPR, then waits for the DPA and for the connection to close. */
  async close(): Promise<void> {
    if (this.failure === undefined) {
      const hopByHop = this.hopByHop++;
      const answered = new Promise<number>((resolve, reject) =>
        this.pending.set(hopByHop, { resolve, reject }),
      );
      this.append(
        encodeMessage({
          flags: CommandFlag.Request,
          commandCode: DiameterCommand.DisconnectPeer,
          applicationId: DiameterApplication.Common,
          hopByHopId: hopByHop,
          endToEndId: (this.endToEnd = (this.endToEnd + 1) >>> 0),
          avps: [
            avp('Origin-Host', this.options.originHost),
            avp('Origin-Realm', this.options.originRealm),
            avp('Disconnect-Cause', 'REBOOTING'),
          ],
        }),
      );
      this.flush();
      await answered.catch(() => undefined);
      this.socket.end(() => this.socket.destroy());
    }
    await this.closed;
  }

  // ---- Requests ------------------------------------------------------------------------------------

  private init(
    request: Pick<GyRequest, 'type' | 'session' | 'requestNumber' | 'msisdn' | 'usedOctets'>,
  ): CreditControlRequestInit {
    const used = request.type === 'INITIAL' ? undefined : [{ totalOctets: BigInt(request.usedOctets) }];
    return {
      sessionId: sessionId(request.session),
      originHost: this.options.originHost,
      originRealm: this.options.originRealm,
      destinationRealm: this.destinationRealm,
      serviceContextId: SERVICE_CONTEXT,
      requestType: request.type,
      requestNumber: request.requestNumber,
      subscriptionIds: [{ type: 'END_USER_E164', data: request.msisdn }],
      multipleServicesSupported: true,
      // INITIAL and UPDATE ask for the default grant (an empty Requested-Service-Unit).
      services: [
        {
          ratingGroup: RATING_GROUP,
          ...(request.type === 'TERMINATE' ? {} : { requested: {} }),
          ...(used === undefined ? {} : { used }),
        },
      ],
      ...(request.type === 'TERMINATE' ? { terminationCause: 1 } : {}),
    };
  }

  private build(request: GyRequest, hopByHop: number): DiameterMessage {
    return buildCreditControlRequest(this.init(request), { hopByHopId: hopByHop, endToEndId: this.endToEnd });
  }

  private template(type: GyRequest['type']): Template {
    const bytes = encodeMessage(
      buildCreditControlRequest(
        this.init({ type, session: 0, requestNumber: 0, msisdn: '0'.repeat(MSISDN_LENGTH), usedOctets: 0 }),
        { hopByHopId: 0, endToEndId: 0 },
      ),
    );
    const end = bytes.length;
    const sessionIdAt = avpData(bytes, 20, end, 263);
    const requestNumberAt = avpData(bytes, 20, end, 415);
    const subscription = avpData(bytes, 20, end, 443);
    const msisdnAt = avpData(bytes, subscription, avpEnd(bytes, subscription), 444);
    const service = avpData(bytes, 20, end, 456);
    const used = type === 'INITIAL' ? -1 : avpData(bytes, service, avpEnd(bytes, service), 446);
    const usedOctetsAt = used === -1 ? -1 : avpData(bytes, used, avpEnd(bytes, used), 421);
    if (sessionIdAt < 0 || requestNumberAt < 0 || msisdnAt < 0 || (type !== 'INITIAL' && usedOctetsAt < 0)) {
      throw new Error(`the ${type} template lacks a field it should have`);
    }
    return { bytes, sessionIdAt, requestNumberAt, msisdnAt, usedOctetsAt };
  }

  private fromTemplate(request: GyRequest, hopByHop: number): void {
    const template = this.templates[request.type];
    const length = template.bytes.length;
    this.reserve(length);
    const out = this.out;
    const at = this.outLength;
    template.bytes.copy(out, at);
    out.writeUInt32BE(hopByHop, at + 12);
    out.writeUInt32BE(this.endToEnd, at + 16);
    // The session number in its 10 digits, written right to left.
    let digits = request.session;
    for (
      let i = template.sessionIdAt + SESSION_PREFIX.length + SESSION_DIGITS - 1;
      i >= template.sessionIdAt + SESSION_PREFIX.length;
      i--
    ) {
      out[at + i] = 0x30 + (digits % 10);
      digits = Math.floor(digits / 10);
    }
    out.writeUInt32BE(request.requestNumber, at + template.requestNumberAt);
    out.write(request.msisdn, at + template.msisdnAt, MSISDN_LENGTH, 'latin1');
    if (template.usedOctetsAt >= 0) {
      out.writeUInt32BE(Math.floor(request.usedOctets / 2 ** 32), at + template.usedOctetsAt);
      out.writeUInt32BE(request.usedOctets >>> 0, at + template.usedOctetsAt + 4);
    }
    this.outLength = at + length;
  }

  // ---- Answers -------------------------------------------------------------------------------------

  private onMessage(frame: Buffer): void {
    const flags = frame[4]!;
    if ((flags & CommandFlag.Request) !== 0) return this.onServerRequest(frame);
    const hopByHop = frame.readUInt32BE(12);
    const pending = this.pending.get(hopByHop);
    if (pending === undefined) return;
    this.pending.delete(hopByHop);
    try {
      pending.resolve(this.options.encoding === 'codec' ? codecResult(frame) : scanResult(frame));
    } catch (error) {
      pending.reject(error as Error);
    }
  }

  /**
   * DWR gets DWA; RAR gets RAA 2001 (the bench's sessions keep their quota, so it asks for nothing
   * more); DPR gets DPA and the connection closes; anything else 3001 (not supported).
   */
  private onServerRequest(frame: Buffer): void {
    const request = decodeMessage(frame);
    const local = { originHost: this.options.originHost, originRealm: this.options.originRealm };
    if (request.commandCode === DiameterCommand.ReAuth) {
      this.append(encodeMessage(buildReAuthAnswer(request, SUCCESS, local)));
      this.flush();
      return;
    }
    const known =
      request.commandCode === DiameterCommand.DeviceWatchdog ||
      request.commandCode === DiameterCommand.DisconnectPeer;
    this.append(
      encodeMessage({
        ...answerHeader(request, !known),
        avps: [
          avp('Result-Code', known ? SUCCESS : 3001),
          avp('Origin-Host', local.originHost),
          avp('Origin-Realm', local.originRealm),
        ],
      }),
    );
    this.flush();
    if (request.commandCode === DiameterCommand.DisconnectPeer) this.socket.end();
  }

  // ---- Output --------------------------------------------------------------------------------------

  private reserve(length: number): void {
    if (this.outLength + length <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.out.length, this.outLength + length));
    this.out.copy(bigger, 0, 0, this.outLength);
    this.out = bigger;
  }

  private append(bytes: Buffer): void {
    this.reserve(bytes.length);
    this.outLength += bytes.copy(this.out, this.outLength);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outLength === 0 || this.socket.destroyed) return;
    const chunk = Buffer.allocUnsafe(this.outLength);
    this.out.copy(chunk, 0, 0, this.outLength);
    this.outLength = 0;
    this.socket.write(chunk);
  }

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

/** The offset of the data of the first AVP `code` (vendor 0) in [start, end), or -1. */
function avpData(bytes: Buffer, start: number, end: number, code: number): number {
  for (let at = start; at + 8 <= end;) {
    const flags = bytes[at + 4]!;
    const length = (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!;
    const vendor = (flags & 0x80) !== 0;
    if (length < (vendor ? 12 : 8)) return -1;
    if (!vendor && bytes.readUInt32BE(at) === code) return at + 8;
    at += (length + 3) & ~3;
  }
  return -1;
}

/** The end of the AVP whose data starts at `dataAt` (a vendor-less AVP). */
function avpEnd(bytes: Buffer, dataAt: number): number {
  const at = dataAt - 8;
  return at + ((bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!);
}

/**
 * The outcome of a CCA read from its AVP headers: 2001 when the Result-Code at the top and in every
 * Multiple-Services-Credit-Control is 2001, else the first other one (0 for a CCA without one).
 */
function scanResult(frame: Buffer): number {
  const end = frame.readUInt32BE(0) & 0xffffff;
  let result = 0;
  for (let at = 20; at + 8 <= end;) {
    const code = frame.readUInt32BE(at);
    const flags = frame[at + 4]!;
    const length = frame.readUInt32BE(at + 4) & 0xffffff;
    if (length < 8 || at + length > end) throw new Error('a CCA with a malformed AVP');
    if ((flags & 0x80) === 0) {
      if (code === 268) {
        result = frame.readUInt32BE(at + 8);
        if (result !== SUCCESS) return result;
      } else if (code === 456) {
        const inner = avpData(frame, at + 8, at + length, 268);
        if (inner >= 0 && frame.readUInt32BE(inner) !== SUCCESS) return frame.readUInt32BE(inner);
      }
    }
    at += (length + 3) & ~3;
  }
  return result;
}

/** The same outcome, through the project's decoder and CCA parser. */
function codecResult(frame: Buffer): number {
  const answer = parseCreditControlAnswer(decodeMessage(frame));
  if (answer.resultCode !== SUCCESS) return answer.resultCode ?? 0;
  for (const service of answer.services) {
    if (service.resultCode !== undefined && service.resultCode !== SUCCESS) return service.resultCode;
  }
  return SUCCESS;
}
