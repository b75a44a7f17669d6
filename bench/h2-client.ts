/**
 * A minimal HTTP/2 client for the charging benchmark: cleartext with prior knowledge (h2c, RFC 9113
 * section 3.3) over node:net, one request = one HEADERS frame and one DATA frame, the answer read
 * as :status and Location. It exists because the load generator shares two cores with the server:
 * node:http2's client costs 65-70 µs of CPU per request (its stream objects, events and header
 * objects), taken from the server; this one about 9 µs, body building included (measured by
 * bench/charging-clients.ts: create/update/release sessions against the Nchf server on a fake core).
 * The server's connection is accepted once its SETTINGS arrive (`connect` waits for them).
 *
 * What it does of RFC 9113:
 * - the connection preface and our SETTINGS (HEADER_TABLE_SIZE 0, so the server's HPACK encoder
 *   may keep no dynamic table; ENABLE_PUSH 0; INITIAL_WINDOW_SIZE 1 MiB), the server's SETTINGS
 *   applied and acknowledged;
 * - flow control both ways (section 5.2): request bodies wait for the server's connection and
 *   stream windows, and WINDOW_UPDATE keeps our windows open (the connection's raised to 1 GiB at
 *   once and topped up when half is used, a stream's when half of its 1 MiB is used);
 * - SETTINGS_MAX_CONCURRENT_STREAMS: requests over the limit wait for a stream to close;
 * - PING answered; RST_STREAM fails its request; GOAWAY fails the requests above its last stream id
 *   (the server did not process them) and refuses new ones, the connection closing once the rest
 *   are answered; a connection error of ours sends GOAWAY and fails everything in flight;
 * - response HEADERS (and CONTINUATION) decoded with HPACK (./hpack.ts), DATA read past.
 *
 * Writes of one event-loop turn go out in one socket write (setImmediate), so a burst of requests
 * started by a burst of answers costs one system call.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { encodeField, HpackDecoder, HpackError, writeInteger } from '../src/protocols/http2/hpack.js';

/** What a request's answer says. */
export interface H2Reply {
  readonly status: number;
  /** The Location header, when the answer carries one. */
  readonly location: string | undefined;
}

export interface H2ClientOptions {
  readonly host?: string;
  readonly port: number;
  /** :authority; host:port by default. */
  readonly authority?: string;
  /** Fields sent with every request, e.g. [['authorization', 'Bearer …'], ['content-type', 'application/json']]. */
  readonly headers?: readonly (readonly [name: string, value: string])[];
}

/** A failure of one request or of the whole connection; `code` is the HTTP/2 error code when one applies. */
export class H2Error extends Error {
  override readonly name = 'H2Error';
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const FrameType = {
  Data: 0,
  Headers: 1,
  Priority: 2,
  RstStream: 3,
  Settings: 4,
  PushPromise: 5,
  Ping: 6,
  GoAway: 7,
  WindowUpdate: 8,
  Continuation: 9,
} as const;

const Flag = { EndStream: 0x1, Ack: 0x1, EndHeaders: 0x4, Padded: 0x8, Priority: 0x20 } as const;

const Setting = {
  HeaderTableSize: 1,
  EnablePush: 2,
  MaxConcurrentStreams: 3,
  InitialWindowSize: 4,
  MaxFrameSize: 5,
} as const;

/** RFC 9113 section 7. */
export const H2ErrorCode = {
  NoError: 0,
  ProtocolError: 1,
  InternalError: 2,
  FlowControlError: 3,
  FrameSizeError: 6,
  RefusedStream: 7,
  Cancel: 8,
  CompressionError: 9,
} as const;

const MAX_WINDOW = 2 ** 31 - 1;
/** The frame size we accept: the protocol default, which we do not raise. */
const OUR_MAX_FRAME_SIZE = 16_384;
const OUR_STREAM_WINDOW = 1 << 20;
const OUR_CONNECTION_WINDOW = 1 << 30;
const DEFAULT_WINDOW = 65_535;

interface Stream {
  readonly id: number;
  readonly resolve: (reply: H2Reply) => void;
  readonly reject: (error: Error) => void;
  status: number;
  location: string | undefined;
  /** The server's window for this stream: how many more body octets we may send. */
  sendWindow: number;
  /** Body octets not sent yet (flow control), or undefined. */
  pending: Buffer | undefined;
  /** DATA octets received since we last opened this stream's window. */
  received: number;
}

interface Waiting {
  readonly path: string;
  readonly body: string;
  readonly resolve: (reply: H2Reply) => void;
  readonly reject: (error: Error) => void;
}

export class H2Connection {
  private readonly socket: Socket;
  private readonly streams = new Map<number, Stream>();
  private readonly waiting: Waiting[] = [];
  /** Streams whose bodies wait for window, in order. */
  private readonly blocked: Stream[] = [];
  private readonly decoder = new HpackDecoder(new Set([':status', 'location']));
  /** The encoded constant pseudo-header fields of every request: :method, :scheme, :authority. */
  private readonly prefix: Buffer;
  /** The encoded constant regular fields (`headers`), which come after :path (RFC 9113 section 8.3). */
  private readonly suffix: Buffer;
  private nextStreamId = 1;
  private sentTableSizeUpdate = false;

  private peerMaxConcurrent = Infinity;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = 16_384;
  private connectionSendWindow = DEFAULT_WINDOW;
  private connectionReceived = 0;

  private out: Buffer = Buffer.allocUnsafe(64 * 1024);
  private outLength = 0;
  private flushScheduled = false;

  private input: Buffer | undefined;
  /** A header block split over HEADERS and CONTINUATION frames: its stream, flags and fragments. */
  private continuation: { streamId: number; endStream: boolean; fragments: Buffer[] } | undefined;

  private settingsReceived!: () => void;
  private settingsFailed!: (error: Error) => void;
  /** Settled by the server's first SETTINGS, or the connection's failure before them. */
  private readonly ready = new Promise<void>((resolve, reject) => {
    this.settingsReceived = resolve;
    this.settingsFailed = reject;
  });
  private goingAway = false;
  private failure: H2Error | undefined;
  readonly closed: Promise<void>;

  private constructor(socket: Socket, options: H2ClientOptions) {
    this.socket = socket;
    const authority = options.authority ?? `${options.host ?? '127.0.0.1'}:${options.port}`;
    this.prefix = Buffer.concat([
      encodeField(':method', 'POST'),
      encodeField(':scheme', 'http'),
      encodeField(':authority', authority),
    ]);
    this.suffix = Buffer.concat(
      (options.headers ?? []).map(([name, value]) => encodeField(name.toLowerCase(), value)),
    );
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(new H2Error(`connection error: ${error.message}`, undefined)));
    socket.on('close', () => this.fail(new H2Error('the connection closed', undefined)));

    // Connection preface: the magic, our SETTINGS, and a bigger connection window.
    this.reserve(PREFACE.length);
    PREFACE.copy(this.out, this.outLength);
    this.outLength += PREFACE.length;
    const settings: [number, number][] = [
      [Setting.HeaderTableSize, 0],
      [Setting.EnablePush, 0],
      [Setting.InitialWindowSize, OUR_STREAM_WINDOW],
    ];
    this.frameHeader(settings.length * 6, FrameType.Settings, 0, 0);
    for (const [id, value] of settings) {
      this.out.writeUInt16BE(id, this.outLength);
      this.out.writeUInt32BE(value, this.outLength + 2);
      this.outLength += 6;
    }
    this.windowUpdate(0, OUR_CONNECTION_WINDOW - DEFAULT_WINDOW);
    this.scheduleFlush();
  }

  /**
   * Opens a TCP connection and sends the preface; resolves once the server's SETTINGS arrived, so
   * the first requests already respect its stream limit and windows.
   */
  static async connect(options: H2ClientOptions): Promise<H2Connection> {
    const socket: Socket = await new Promise((resolve, reject) => {
      const s = netConnect({ host: options.host ?? '127.0.0.1', port: options.port, noDelay: true });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
    });
    const connection = new H2Connection(socket, options);
    await connection.ready;
    return connection;
  }

  /** Requests in flight (streams open). */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** POSTs `body` (UTF-8 text) to `path` and resolves with the answer's status and Location. */
  post(path: string, body: string): Promise<H2Reply> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      if (this.goingAway)
        return reject(new H2Error('the connection is going away', H2ErrorCode.RefusedStream));
      if (this.streams.size >= this.peerMaxConcurrent) {
        this.waiting.push({ path, body, resolve, reject });
        return;
      }
      this.open(path, body, resolve, reject);
    });
  }

  /**
   * Sends GOAWAY (no error) and closes once the requests in flight are answered; requests still
   * waiting for a stream fail. After `graceMs` without that, the connection is cut (a server that
   * never answers, or never closes its side, cannot keep the caller waiting).
   */
  async close(graceMs = 2_000): Promise<void> {
    if (this.failure === undefined && !this.socket.destroyed) {
      this.goAway(H2ErrorCode.NoError);
      this.goingAway = true;
      this.flush();
      // Requests still waiting for a stream will not get one now.
      for (const waiting of this.waiting.splice(0)) {
        waiting.reject(new H2Error('the connection was closed', H2ErrorCode.RefusedStream));
      }
      if (this.streams.size === 0) this.shutdown();
    }
    const timer = setTimeout(() => this.socket.destroy(), graceMs);
    try {
      await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- Sending -------------------------------------------------------------------------------------

  private open(
    path: string,
    body: string,
    resolve: (reply: H2Reply) => void,
    reject: (error: Error) => void,
  ): void {
    const id = this.nextStreamId;
    if (id > MAX_WINDOW) {
      reject(new H2Error('stream identifiers are exhausted on this connection', H2ErrorCode.RefusedStream));
      return;
    }
    this.nextStreamId += 2;
    const stream: Stream = {
      id,
      resolve,
      reject,
      status: 0,
      location: undefined,
      sendWindow: this.peerInitialWindow,
      pending: undefined,
      received: 0,
    };
    this.streams.set(id, stream);

    // HEADERS: the constant pseudo-header fields, :path as a literal without indexing, name index 4
    // (RFC 7541 section 6.2.2), and the constant regular fields; the very first block starts by setting our encoder's table to 0 (section 6.3),
    // which keeps us within any HEADER_TABLE_SIZE the server announces.
    const pathLength = Buffer.byteLength(path, 'latin1');
    const lengthBytes = pathLength < 127 ? 1 : pathLength < 127 + 128 ? 2 : 3;
    const update = this.sentTableSizeUpdate ? 0 : 1;
    const blockLength = update + this.prefix.length + 1 + lengthBytes + pathLength + this.suffix.length;
    if (blockLength > this.peerMaxFrameSize) {
      this.streams.delete(id);
      reject(new H2Error('the request header block is larger than one frame', undefined));
      return;
    }
    const bodyLength = Buffer.byteLength(body, 'utf8');
    this.frameHeader(
      blockLength,
      FrameType.Headers,
      bodyLength === 0 ? Flag.EndHeaders | Flag.EndStream : Flag.EndHeaders,
      id,
    );
    const out = this.out;
    let at = this.outLength;
    if (update === 1) {
      out[at++] = 0x20;
      this.sentTableSizeUpdate = true;
    }
    at += this.prefix.copy(out, at);
    out[at++] = 0x04;
    at = writeInteger(out, at, 7, 0, pathLength);
    at += out.write(path, at, 'latin1');
    at += this.suffix.copy(out, at);
    this.outLength = at;

    if (bodyLength > 0) {
      // The usual case: the whole body fits the windows and one frame; it is written in place.
      if (
        bodyLength <= this.connectionSendWindow &&
        bodyLength <= stream.sendWindow &&
        bodyLength <= this.peerMaxFrameSize
      ) {
        this.frameHeader(bodyLength, FrameType.Data, Flag.EndStream, id);
        this.outLength += this.out.write(body, this.outLength, 'utf8');
        this.connectionSendWindow -= bodyLength;
        stream.sendWindow -= bodyLength;
      } else {
        stream.pending = Buffer.from(body, 'utf8');
        this.blocked.push(stream);
        this.sendBlocked();
      }
    }
    this.scheduleFlush();
  }

  /** Sends what the windows allow of the blocked bodies, in order. */
  private sendBlocked(): void {
    while (this.blocked.length > 0 && this.connectionSendWindow > 0) {
      const stream = this.blocked[0]!;
      const pending = stream.pending;
      if (pending === undefined || !this.streams.has(stream.id)) {
        this.blocked.shift();
        continue;
      }
      const size = Math.min(
        pending.length,
        this.connectionSendWindow,
        stream.sendWindow,
        this.peerMaxFrameSize,
      );
      if (size <= 0) {
        // This stream waits for its own window; the next ones may go.
        const index = this.blocked.findIndex((other) => other.sendWindow > 0 && other.pending !== undefined);
        if (index <= 0) break;
        this.blocked.push(...this.blocked.splice(0, index));
        continue;
      }
      const last = size === pending.length;
      this.frameHeader(size, FrameType.Data, last ? Flag.EndStream : 0, stream.id);
      pending.copy(this.out, this.outLength, 0, size);
      this.outLength += size;
      this.connectionSendWindow -= size;
      stream.sendWindow -= size;
      if (last) {
        stream.pending = undefined;
        this.blocked.shift();
      } else stream.pending = pending.subarray(size);
    }
    this.scheduleFlush();
  }

  private reserve(length: number): void {
    if (this.outLength + length <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.out.length, this.outLength + length));
    this.out.copy(bigger, 0, 0, this.outLength);
    this.out = bigger;
  }

  /** Writes a frame header and reserves room for its payload. */
  private frameHeader(length: number, type: number, flags: number, streamId: number): void {
    this.reserve(9 + length);
    const out = this.out;
    const at = this.outLength;
    out[at] = length >>> 16;
    out[at + 1] = (length >>> 8) & 0xff;
    out[at + 2] = length & 0xff;
    out[at + 3] = type;
    out[at + 4] = flags;
    out.writeUInt32BE(streamId, at + 5);
    this.outLength = at + 9;
  }

  private windowUpdate(streamId: number, increment: number): void {
    this.frameHeader(4, FrameType.WindowUpdate, 0, streamId);
    this.out.writeUInt32BE(increment, this.outLength);
    this.outLength += 4;
  }

  private rstStream(streamId: number, code: number): void {
    this.frameHeader(4, FrameType.RstStream, 0, streamId);
    this.out.writeUInt32BE(code, this.outLength);
    this.outLength += 4;
    this.scheduleFlush();
  }

  private goAway(code: number): void {
    this.frameHeader(8, FrameType.GoAway, 0, 0);
    // We accept no streams from the server (no push), so the last stream id we processed is 0.
    this.out.writeUInt32BE(0, this.outLength);
    this.out.writeUInt32BE(code, this.outLength + 4);
    this.outLength += 8;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outLength === 0 || this.socket.destroyed) return;
    // The socket may hold the chunk until the kernel takes it, so it gets a copy of its own.
    const chunk = Buffer.allocUnsafe(this.outLength);
    this.out.copy(chunk, 0, 0, this.outLength);
    this.outLength = 0;
    this.socket.write(chunk);
  }

  // ---- Receiving -----------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    let data = this.input === undefined ? chunk : Buffer.concat([this.input, chunk]);
    this.input = undefined;
    let offset = 0;
    try {
      while (data.length - offset >= 9) {
        const length = (data[offset]! << 16) | (data[offset + 1]! << 8) | data[offset + 2]!;
        if (length > OUR_MAX_FRAME_SIZE) {
          throw new H2Error(
            `a frame of ${length} octets exceeds our maximum frame size`,
            H2ErrorCode.FrameSizeError,
          );
        }
        if (data.length - offset < 9 + length) break;
        const type = data[offset + 3]!;
        const flags = data[offset + 4]!;
        const streamId = data.readUInt32BE(offset + 5) & 0x7fffffff;
        const payload = data.subarray(offset + 9, offset + 9 + length);
        offset += 9 + length;
        this.onFrame(type, flags, streamId, payload);
        if (this.failure !== undefined) return;
      }
    } catch (error) {
      const failure =
        error instanceof H2Error
          ? error
          : error instanceof HpackError
            ? new H2Error(error.message, H2ErrorCode.CompressionError)
            : new H2Error(`internal error: ${String(error)}`, H2ErrorCode.InternalError);
      this.connectionError(failure);
      return;
    }
    if (offset < data.length) {
      // Keep only the unread part (a copy, so the big chunk it came in can be freed).
      data = Buffer.from(data.subarray(offset));
      this.input = data;
    }
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.continuation !== undefined && type !== FrameType.Continuation) {
      throw new H2Error('a header block was interrupted by another frame', H2ErrorCode.ProtocolError);
    }
    switch (type) {
      case FrameType.Data:
        return this.onDataFrame(flags, streamId, payload);
      case FrameType.Headers:
        return this.onHeaders(flags, streamId, payload);
      case FrameType.Continuation: {
        const pending = this.continuation;
        if (pending === undefined || pending.streamId !== streamId) {
          throw new H2Error('an unexpected CONTINUATION frame', H2ErrorCode.ProtocolError);
        }
        pending.fragments.push(Buffer.from(payload));
        if ((flags & Flag.EndHeaders) !== 0) {
          this.continuation = undefined;
          this.onHeaderBlock(streamId, Buffer.concat(pending.fragments), pending.endStream);
        }
        return;
      }
      case FrameType.RstStream: {
        if (payload.length !== 4)
          throw new H2Error('RST_STREAM must be 4 octets', H2ErrorCode.FrameSizeError);
        const stream = this.streams.get(streamId);
        if (stream !== undefined) {
          this.finish(stream);
          stream.reject(
            new H2Error(
              `the server reset stream ${streamId} (error ${payload.readUInt32BE(0)})`,
              payload.readUInt32BE(0),
            ),
          );
        }
        return;
      }
      case FrameType.Settings:
        return this.onSettings(flags, streamId, payload);
      case FrameType.Ping:
        if (payload.length !== 8) throw new H2Error('PING must be 8 octets', H2ErrorCode.FrameSizeError);
        if ((flags & Flag.Ack) === 0) {
          this.frameHeader(8, FrameType.Ping, Flag.Ack, 0);
          payload.copy(this.out, this.outLength);
          this.outLength += 8;
          this.scheduleFlush();
        }
        return;
      case FrameType.GoAway:
        return this.onGoAway(payload);
      case FrameType.WindowUpdate: {
        if (payload.length !== 4)
          throw new H2Error('WINDOW_UPDATE must be 4 octets', H2ErrorCode.FrameSizeError);
        const increment = payload.readUInt32BE(0) & 0x7fffffff;
        if (streamId === 0) {
          if (increment === 0)
            throw new H2Error('a connection WINDOW_UPDATE of 0', H2ErrorCode.ProtocolError);
          this.connectionSendWindow += increment;
          if (this.connectionSendWindow > MAX_WINDOW) {
            throw new H2Error('the connection window exceeds 2^31-1', H2ErrorCode.FlowControlError);
          }
        } else {
          const stream = this.streams.get(streamId);
          if (stream === undefined) return;
          stream.sendWindow += increment;
          if (increment === 0 || stream.sendWindow > MAX_WINDOW) {
            this.finish(stream);
            this.rstStream(
              streamId,
              increment === 0 ? H2ErrorCode.ProtocolError : H2ErrorCode.FlowControlError,
            );
            stream.reject(
              new H2Error(`bad WINDOW_UPDATE on stream ${streamId}`, H2ErrorCode.FlowControlError),
            );
            return;
          }
        }
        if (this.blocked.length > 0) this.sendBlocked();
        return;
      }
      case FrameType.PushPromise:
        throw new H2Error('PUSH_PROMISE although we disabled push', H2ErrorCode.ProtocolError);
      default:
        // PRIORITY and unknown frame types are ignored (RFC 9113 section 5.5).
        return;
    }
  }

  /** Strips padding (and priority fields, for HEADERS) from a payload. */
  private unpad(flags: number, payload: Buffer, priority: boolean): Buffer {
    let start = 0;
    let end = payload.length;
    if ((flags & Flag.Padded) !== 0) {
      if (payload.length < 1)
        throw new H2Error('a padded frame without its pad length', H2ErrorCode.FrameSizeError);
      end -= payload[0]!;
      start = 1;
    }
    if (priority && (flags & Flag.Priority) !== 0) start += 5;
    if (end < start) throw new H2Error('padding longer than the frame', H2ErrorCode.ProtocolError);
    return payload.subarray(start, end);
  }

  private onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2Error('DATA on stream 0', H2ErrorCode.ProtocolError);
    // Flow control counts the whole payload, padding included (RFC 9113 section 6.9.1).
    this.connectionReceived += payload.length;
    if (this.connectionReceived >= OUR_CONNECTION_WINDOW / 2) {
      this.windowUpdate(0, this.connectionReceived);
      this.connectionReceived = 0;
      this.scheduleFlush();
    }
    this.unpad(flags, payload, false);
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    stream.received += payload.length;
    if ((flags & Flag.EndStream) !== 0) {
      this.complete(stream);
      return;
    }
    if (stream.received >= OUR_STREAM_WINDOW / 2) {
      this.windowUpdate(streamId, stream.received);
      stream.received = 0;
      this.scheduleFlush();
    }
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2Error('HEADERS on stream 0', H2ErrorCode.ProtocolError);
    const fragment = this.unpad(flags, payload, true);
    const endStream = (flags & Flag.EndStream) !== 0;
    if ((flags & Flag.EndHeaders) === 0) {
      this.continuation = { streamId, endStream, fragments: [Buffer.from(fragment)] };
      return;
    }
    this.onHeaderBlock(streamId, fragment, endStream);
  }

  private onHeaderBlock(streamId: number, block: Buffer, endStream: boolean): void {
    // Every block is decoded, even of a stream we no longer know: the HPACK context is shared.
    const stream = this.streams.get(streamId);
    let status = 0;
    let location: string | undefined;
    this.decoder.decode(block, (name, value) => {
      if (name === ':status') status = Number(value);
      else location = value;
    });
    if (stream === undefined) return;
    if (stream.status === 0 || (stream.status >= 100 && stream.status < 200)) {
      // The response's headers (an informational 1xx is followed by the final ones).
      stream.status = status;
      stream.location = location;
    }
    if (endStream) this.complete(stream);
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2Error('SETTINGS on a stream', H2ErrorCode.ProtocolError);
    if ((flags & Flag.Ack) !== 0) {
      if (payload.length !== 0)
        throw new H2Error('a SETTINGS ack with a payload', H2ErrorCode.FrameSizeError);
      // Our HEADER_TABLE_SIZE 0 is in force: the server's encoder may no longer use its table.
      this.decoder.setLimit(0);
      return;
    }
    if (payload.length % 6 !== 0)
      throw new H2Error('SETTINGS not a multiple of 6 octets', H2ErrorCode.FrameSizeError);
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (id) {
        case Setting.MaxConcurrentStreams:
          this.peerMaxConcurrent = value;
          break;
        case Setting.InitialWindowSize: {
          if (value > MAX_WINDOW)
            throw new H2Error('INITIAL_WINDOW_SIZE above 2^31-1', H2ErrorCode.FlowControlError);
          // Section 6.9.2: the change applies to every open stream's window.
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const stream of this.streams.values()) stream.sendWindow += delta;
          break;
        }
        case Setting.MaxFrameSize:
          if (value < 16_384 || value > 16_777_215)
            throw new H2Error('MAX_FRAME_SIZE out of range', H2ErrorCode.ProtocolError);
          this.peerMaxFrameSize = value;
          break;
        // HEADER_TABLE_SIZE limits a dynamic table we never use; ENABLE_PUSH means nothing from a server.
      }
    }
    this.frameHeader(0, FrameType.Settings, Flag.Ack, 0);
    this.scheduleFlush();
    this.settingsReceived();
    if (this.blocked.length > 0) this.sendBlocked();
    this.openWaiting();
  }

  private onGoAway(payload: Buffer): void {
    if (payload.length < 8) throw new H2Error('GOAWAY shorter than 8 octets', H2ErrorCode.FrameSizeError);
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    this.goingAway = true;
    // Streams above the last one were not processed: they fail (and could be retried elsewhere).
    for (const stream of [...this.streams.values()]) {
      if (stream.id > lastStreamId) {
        this.finish(stream);
        stream.reject(
          new H2Error(
            `the server went away (error ${code}) before stream ${stream.id}`,
            H2ErrorCode.RefusedStream,
          ),
        );
      }
    }
    for (const waiting of this.waiting.splice(0)) {
      waiting.reject(new H2Error(`the server went away (error ${code})`, H2ErrorCode.RefusedStream));
    }
    if (this.streams.size === 0) this.shutdown();
  }

  private complete(stream: Stream): void {
    this.finish(stream);
    if (stream.pending !== undefined) {
      // The server answered before reading the whole body (RFC 9113 section 8.1): stop sending it.
      stream.pending = undefined;
      this.rstStream(stream.id, H2ErrorCode.NoError);
    }
    if (stream.status === 0)
      stream.reject(new H2Error(`stream ${stream.id} ended without a response`, H2ErrorCode.ProtocolError));
    else stream.resolve({ status: stream.status, location: stream.location });
  }

  /** Forgets a stream and lets a waiting request take its place. */
  private finish(stream: Stream): void {
    this.streams.delete(stream.id);
    if (this.waiting.length > 0) this.openWaiting();
    else if (this.goingAway && this.streams.size === 0) {
      this.shutdown();
    }
  }

  private openWaiting(): void {
    while (this.waiting.length > 0 && this.streams.size < this.peerMaxConcurrent && !this.goingAway) {
      const next = this.waiting.shift()!;
      this.open(next.path, next.body, next.resolve, next.reject);
    }
  }

  private connectionError(error: H2Error): void {
    if (this.failure !== undefined) return;
    this.goAway(error.code ?? H2ErrorCode.InternalError);
    this.fail(error);
    this.shutdown();
  }

  /**
   * Writes what is pending and closes. Once nothing more is expected the socket is destroyed after
   * its last write rather than waiting for the server to close its side (node:http2 servers keep a
   * half-closed connection open).
   */
  private shutdown(): void {
    this.flush();
    this.socket.end(() => this.socket.destroy());
  }

  /** Fails every request in flight or waiting; the connection is unusable from here. */
  private fail(error: H2Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.settingsFailed(error);
    for (const stream of this.streams.values()) stream.reject(error);
    this.streams.clear();
    for (const waiting of this.waiting.splice(0)) waiting.reject(error);
    this.blocked.length = 0;
  }
}
