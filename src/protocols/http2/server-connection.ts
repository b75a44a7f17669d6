/**
 * The server side of one HTTP/2 connection over cleartext TCP with prior knowledge (RFC 9113
 * section 3.3), written for the Nchf charging server: a lean replacement for node:http2 on its hot
 * path. No upgrade from HTTP/1.1, no server push, no priorities (RFC 9113 deprecates them; PRIORITY
 * frames are checked and ignored).
 *
 * The shape, and why:
 * - Frames are parsed straight out of the socket's chunks. A frame that spans chunks is copied
 *   into one buffer of its exact size as its pieces arrive, so a frame split over many small chunks
 *   costs one copy, and frames inside one chunk cost none. A DATA payload reaches the request body
 *   as a view when it is most of its chunk, else as a copy (see H2ServerStream.appendBody).
 * - A stream is a plain object with a few fields; the body comes through one Promise (readBody).
 *   There are no EventEmitters, no Node streams and no Error objects on normal paths; problems of
 *   the peer are answered with the frame the RFC names (GOAWAY for connection errors, RST_STREAM
 *   for stream errors) and reported through `onError` as a string.
 * - Frames we produce go into a pending list and leave in one socket write: at the end of the
 *   input chunk being processed, or on the next tick for responses produced outside of it (a
 *   handler that answered after awaiting something). Small frames are written into a shared arena
 *   buffer so that a tick's worth of responses is usually a single Buffer; large DATA payloads are
 *   queued as views of the caller's body, never copied.
 * - Memory a peer can make us hold is bounded: a header block by `maxHeaderListSize` (checked on
 *   the decoded size, the compressed block by a multiple of it), streams by
 *   `maxConcurrentStreams`, each stream's unread body by the stream window we grant (and readBody's
 *   limit once the caller reads), queued response data by what our caller produced, and our output
 *   by pausing input while the peer does not read what we write.
 */
import type { Socket } from 'node:net';
import { HpackDecoder, HpackError, fieldBound, writeField, writeInteger, writeStatus } from './hpack.js';

// ---- Protocol constants (RFC 9113) -------------------------------------------------------------------

/** Frame types (section 6). */
const DATA = 0x0;
const HEADERS = 0x1;
const PRIORITY = 0x2;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

/** Frame flags. */
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

/** Error codes (section 7). */
export const H2ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;
const {
  NO_ERROR,
  PROTOCOL_ERROR,
  INTERNAL_ERROR,
  FLOW_CONTROL_ERROR,
  STREAM_CLOSED,
  FRAME_SIZE_ERROR,
  REFUSED_STREAM,
  COMPRESSION_ERROR,
  ENHANCE_YOUR_CALM,
} = H2ErrorCode;
const ERROR_NAMES: readonly string[] = Object.keys(H2ErrorCode);
const errorName = (code: number): string => ERROR_NAMES[code] ?? `0x${code.toString(16)}`;

/** Settings identifiers (section 6.5.2). */
const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;
const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;
const SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8;

/** The client connection preface (section 3.4). */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER_LENGTH = 9;
/** We never raise SETTINGS_MAX_FRAME_SIZE: 16 KiB frames are plenty for charging requests. */
const OUR_MAX_FRAME_SIZE = 16_384;
const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;

/**
 * The window each request stream starts with (our SETTINGS_INITIAL_WINDOW_SIZE). A client can send
 * this much body before the caller reads it, so it is also what one unread stream can make us
 * hold: 1 MiB times maxConcurrentStreams at worst, and charging bodies are a few KiB.
 */
const STREAM_WINDOW = 1024 * 1024;
/**
 * The connection window we grant (raised from 65 535 with a WINDOW_UPDATE on stream 0 at the
 * start). Received DATA is always consumed at once, into the stream's body or dropped, so the
 * connection window never needs to bound memory; it only must not make streams wait on each other.
 */
const CONNECTION_WINDOW = 16 * 1024 * 1024;

const DEFAULT_MAX_HEADER_LIST_SIZE = 16 * 1024;
/**
 * A field block is accepted up to this multiple of maxHeaderListSize in compressed octets before
 * it is decoded. Huffman coding can make a string up to 30/8 times longer than its text, so the
 * compressed block may honestly exceed the decoded size; four times covers what an encoder does.
 */
const BLOCK_SIZE_FACTOR = 4;
/** Empty CONTINUATION frames accepted in one field block (CVE-2024-27316 style floods). */
const MAX_EMPTY_CONTINUATIONS = 16;
/**
 * Streams reset before we answered them, net of the ones we answered, before we call it an attack
 * and end the connection with ENHANCE_YOUR_CALM: resets by the peer (rapid reset, CVE-2023-44487)
 * and resets the peer provokes with a stream error (MadeYouReset, CVE-2025-8671) both free a
 * stream slot while the caller may still be working on the request.
 */
const MAX_UNANSWERED_RESETS = 1000;
/**
 * Above this much output waiting in the socket we stop reading: a peer that does not read our
 * frames (PING ACKs, RST_STREAMs, responses) must not make them pile up in memory.
 */
const OUTPUT_HIGH_WATER = 1024 * 1024;
/** Output is built in arenas of this size; see `reserve`. */
const ARENA_SIZE = 16 * 1024;
/** DATA payloads up to this size are copied into the arena rather than queued as their own Buffer. */
const COPY_PAYLOAD_MAX = 2048;
/** After we end the socket, how long the peer has to close its side before we destroy it. */
const END_GRACE_MS = 2000;
/** Stream ids we closed recently, remembered to tell late frames from protocol errors. */
const RECENTLY_CLOSED = 64;

const EMPTY = Buffer.alloc(0);

// ---- Public interface ----------------------------------------------------------------------------------

export interface H2ServerOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we announce and enforce (REFUSED_STREAM beyond it). */
  readonly maxConcurrentStreams: number;
  /** Close the connection (GOAWAY NO_ERROR) after this long without any frame; 0 = never. */
  readonly idleTimeoutMs: number;
  /** Largest header block accepted (decoded size per RFC 9113 §6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE, announce it); default 16 KiB. */
  readonly maxHeaderListSize?: number;
  /** A new request stream, once its complete header block arrived (HEADERS + CONTINUATIONs). */
  readonly onStream: (stream: H2ServerStream) => void;
  /** Connection-level problems worth a log line (protocol errors by the peer, socket errors); never throws. */
  readonly onError?: (message: string) => void;
}

type BodyOutcome = Buffer | 'too_large' | 'aborted';

/** Where a stream's request body stands. */
const BODY_BUFFERING = 0;
/** More than readBody's limit came: the rest is dropped and the stream window no longer grows. */
const BODY_DISCARDING = 1;
/** readBody has resolved (or will resolve 'aborted'); nothing more is kept. */
const BODY_DELIVERED = 2;

/**
 * One request stream. Its fields are written by the connection (the `@internal` ones); callers use
 * the readonly request fields, `header`, `readBody` and `respond`.
 */
export class H2ServerStream {
  /** @internal The request's regular fields, in order, names lowercase. */
  readonly fieldNames: string[];
  /** @internal */
  readonly fieldValues: string[];
  /** @internal The declared content-length, or -1. */
  readonly contentLength: number;

  /** @internal What the peer may still send us on this stream. */
  receiveWindow = STREAM_WINDOW;
  /** @internal Octets received (padding included) not yet given back with a WINDOW_UPDATE. */
  unacknowledged = 0;
  /** @internal What we may still send (the peer's window for this stream; may go negative). */
  sendWindow: number;
  /** @internal Request body octets received (padding excluded). */
  bodyLength = 0;
  /** @internal */
  bodyState = BODY_BUFFERING;
  /** @internal The body's pieces so far, without the tail. */
  bodyParts: Buffer[] | undefined;
  /** @internal Where small pieces are gathered (see appendBody), filled up to `tailLength`. */
  bodyTail: Buffer | undefined;
  /** @internal */
  bodyTailLength = 0;
  /** @internal Set while readBody waits. */
  bodyResolve: ((outcome: BodyOutcome) => void) | undefined;
  /** @internal readBody's limit, -1 until it is called. */
  bodyLimit = -1;
  /** @internal END_STREAM arrived. */
  remoteEnded: boolean;
  /** @internal respond() was called. */
  responded = false;
  /** @internal The response body still to send, from `pendingOffset`. */
  pendingBody: Buffer | undefined;
  /** @internal */
  pendingOffset = 0;
  /** @internal Waiting in the connection's list for connection window. */
  waitingForConnectionWindow = false;
  /** @internal */
  isClosed = false;

  /** @internal */
  constructor(
    private readonly connection: H2ServerConnection,
    readonly id: number,
    readonly method: string,
    readonly path: string,
    readonly authority: string | undefined,
    readonly scheme: string | undefined,
    fieldNames: string[],
    fieldValues: string[],
    contentLength: number,
    endStream: boolean,
    sendWindow: number,
  ) {
    this.fieldNames = fieldNames;
    this.fieldValues = fieldValues;
    this.contentLength = contentLength;
    this.remoteEnded = endStream;
    this.sendWindow = sendWindow;
  }

  /** Regular header by lowercase name (the last value if repeated; cookie joined per RFC). */
  header(name: string): string | undefined {
    const names = this.fieldNames;
    if (name === 'cookie') {
      // RFC 9113 section 8.2.3: a client may split the cookie field into one field per crumb;
      // they are joined with "; " before the field goes anywhere that expects one value.
      let joined: string | undefined;
      for (let i = 0; i < names.length; i++) {
        if (names[i] !== 'cookie') continue;
        joined = joined === undefined ? this.fieldValues[i]! : `${joined}; ${this.fieldValues[i]!}`;
      }
      return joined;
    }
    for (let i = names.length - 1; i >= 0; i--) if (names[i] === name) return this.fieldValues[i];
    return undefined;
  }

  /** True once the request's END_STREAM arrived. */
  get bodyComplete(): boolean {
    return this.remoteEnded;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * The request body: resolves with the Buffer at END_STREAM, 'too_large' once more than `limit`
   * bytes came (the rest is then dropped and the peer's window for the stream no longer grows, so
   * it stalls until the caller answers, typically 413, after which the stream is reset with
   * RST_STREAM NO_ERROR), 'aborted' if the peer reset the stream or the connection died first.
   * May be called once; a second call resolves 'aborted'.
   */
  readBody(limit: number): Promise<BodyOutcome> {
    if (this.bodyLimit >= 0 || this.bodyState === BODY_DELIVERED) return Promise.resolve('aborted');
    this.bodyLimit = Math.max(0, limit);
    if (this.bodyLength > this.bodyLimit) {
      this.bodyState = BODY_DISCARDING;
      this.dropBody();
      return Promise.resolve('too_large');
    }
    if (this.remoteEnded) return Promise.resolve(this.takeBody());
    if (this.isClosed) {
      this.bodyState = BODY_DELIVERED;
      return Promise.resolve('aborted');
    }
    // The window withheld while nobody read the body may now be given back.
    this.connection.streamBodyRead(this);
    return new Promise<BodyOutcome>((resolve) => {
      this.bodyResolve = resolve;
    });
  }

  /**
   * @internal Keeps body octets from a DATA payload. A piece that is most of the memory it lives in
   * is kept as a view (no copy: the usual large frame). A smaller one is copied, because a view
   * would pin its whole socket chunk (a 1-octet frame could hold 64 KiB), and copies after the
   * first go into a shared tail buffer, because a Buffer object per piece would let a flood of tiny
   * frames cost a hundred times their octets. The first piece is copied alone, at its exact size:
   * most request bodies are a single frame.
   */
  appendBody(source: Buffer, start: number, end: number): void {
    const size = end - start;
    if (2 * size >= source.buffer.byteLength) {
      this.sealTail();
      this.pushPart(source.subarray(start, end));
      return;
    }
    const tail = this.bodyTail;
    if (tail !== undefined && tail.length - this.bodyTailLength >= size) {
      source.copy(tail, this.bodyTailLength, start, end);
      this.bodyTailLength += size;
      return;
    }
    this.sealTail();
    const first = this.bodyParts === undefined;
    const fresh = Buffer.allocUnsafe(first ? size : Math.max(16 * 1024, size));
    source.copy(fresh, 0, start, end);
    this.bodyTail = fresh;
    this.bodyTailLength = size;
  }

  private sealTail(): void {
    if (this.bodyTail === undefined) return;
    this.pushPart(this.bodyTail.subarray(0, this.bodyTailLength));
    this.bodyTail = undefined;
    this.bodyTailLength = 0;
  }

  private pushPart(part: Buffer): void {
    if (this.bodyParts === undefined) this.bodyParts = [part];
    else this.bodyParts.push(part);
  }

  /** @internal Drops what was kept of the body. */
  dropBody(): void {
    this.bodyParts = undefined;
    this.bodyTail = undefined;
    this.bodyTailLength = 0;
  }

  /** @internal The whole body, once END_STREAM arrived. */
  takeBody(): Buffer {
    this.sealTail();
    const parts = this.bodyParts;
    this.bodyParts = undefined;
    this.bodyState = BODY_DELIVERED;
    if (parts === undefined) return EMPTY;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.bodyLength);
  }

  /** @internal Settles readBody, if it waits. */
  settleBody(outcome: BodyOutcome): void {
    const resolve = this.bodyResolve;
    if (resolve === undefined) return;
    this.bodyResolve = undefined;
    resolve(outcome);
  }

  /**
   * Sends the response: :status, the given headers (lowercase names), and the body (if any) in DATA
   * frames within the peer's flow-control windows (what they do not allow yet waits for its
   * WINDOW_UPDATEs), END_STREAM on the last frame. After answering a request whose body has not all
   * arrived, the stream is reset with RST_STREAM NO_ERROR once the response is out (RFC 9113
   * section 8.1). A no-op if the stream is already closed or answered. Never throws.
   */
  respond(status: number, headers: ReadonlyArray<readonly [string, string]>, body?: Buffer | string): void {
    if (this.isClosed || this.responded) return;
    this.responded = true;
    this.connection.sendResponse(this, status, headers, body);
  }
}

/** One field block being received: HEADERS, then CONTINUATIONs until END_HEADERS. */
interface PendingBlock {
  readonly streamId: number;
  readonly endStream: boolean;
  /** A stream error already decided (a HEADERS frame depending on itself), or 0. */
  readonly streamError: number;
  /** The block so far, copied (views would pin socket chunks), filled up to `size`. */
  data: Buffer;
  size: number;
  emptyContinuations: number;
}

export class H2ServerConnection {
  readonly remoteAddress: string | undefined;
  /** Called once when the socket is gone. */
  onClose: (() => void) | undefined;

  private readonly socket: Socket;
  private readonly maxConcurrentStreams: number;
  private readonly maxHeaderListSize: number;
  private readonly onStream: (stream: H2ServerStream) => void;
  private readonly reportError: ((message: string) => void) | undefined;
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, H2ServerStream>();

  // Input state.
  /** Octets of the client preface matched so far; 24 once it is through. */
  private prefaceMatched = 0;
  private sawSettings = false;
  /** A frame header split over chunks is gathered here. */
  private readonly headerScratch = Buffer.allocUnsafe(FRAME_HEADER_LENGTH);
  private headerFilled = 0;
  /** A frame whose payload spans chunks: its header fields and the payload gathered so far. */
  private partialPayload: Buffer | undefined;
  private partialFilled = 0;
  private partialType = 0;
  private partialFlags = 0;
  private partialStreamId = 0;
  /** True while a socket chunk is being processed: output is flushed at its end. */
  private inInput = false;
  private block: PendingBlock | undefined;

  // Stream bookkeeping.
  /** The highest stream id the peer opened (or tried to). */
  private lastPeerStreamId = 0;
  /** The highest stream id we handed to onStream: what GOAWAY reports as processed. */
  private lastProcessedStreamId = 0;
  private readonly recentlyClosed = new Int32Array(RECENTLY_CLOSED);
  /** For each id in recentlyClosed, whether we reset it (late frames from the peer are expected). */
  private readonly recentlyResetByUs = new Uint8Array(RECENTLY_CLOSED);
  private recentlyClosedNext = 0;
  private unansweredResets = 0;
  private fieldNames: string[] = [];
  private fieldValues: string[] = [];

  // Flow control.
  private connectionReceiveWindow = CONNECTION_WINDOW;
  private connectionUnacknowledged = 0;
  private connectionSendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = 16_384;
  /**
   * Our encoder's dynamic table size as the peer's decoder knows it. We never index, but RFC 7541
   * section 4.2 still wants a size update at the start of the first block after the peer lowered
   * SETTINGS_HEADER_TABLE_SIZE below it (a decoder may check, as the bench client does), so a
   * lowered value is announced once, in `pendingTableSizeUpdate` (-1 for none).
   */
  private encoderTableSize = 4096;
  private pendingTableSizeUpdate = -1;
  private readonly waitingForWindow: H2ServerStream[] = [];

  // Output state.
  private arena = Buffer.allocUnsafe(ARENA_SIZE);
  /** The arena's octets from here to `arenaEnd` are written but not yet queued. */
  private arenaStart = 0;
  private arenaEnd = 0;
  private readonly queued: Buffer[] = [];
  private flushScheduled = false;
  private readingPaused = false;

  // Lifecycle.
  /** We sent GOAWAY (graceful or not): no new streams. */
  private goingAway = false;
  /** A connection error ended the exchange: input is ignored from now on. */
  private failed = false;
  /** The peer sent GOAWAY. */
  private peerGoingAway = false;
  private isClosed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private endTimer: NodeJS.Timeout | undefined;

  private readonly flushCallback = (): void => {
    this.flushScheduled = false;
    this.flush();
  };
  private readonly collectField = (name: string, value: string): void => {
    this.fieldNames.push(name);
    this.fieldValues.push(value);
  };

  constructor(socket: Socket, options: H2ServerOptions) {
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress;
    // Settings values are 32-bit: clamp what the caller gave (Infinity, say) to what can be announced.
    this.maxConcurrentStreams = clampSetting(options.maxConcurrentStreams);
    this.maxHeaderListSize = clampSetting(options.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE);
    this.onStream = options.onStream;
    this.reportError = options.onError;

    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('error', (error: Error) => {
      this.report(`http/2 socket error: ${error.message}`);
      socket.destroy();
    });
    socket.on('end', () => this.onSocketEnd());
    socket.on('close', () => this.onSocketClose());
    socket.on('drain', () => this.onSocketDrain());
    if (socket.destroyed) {
      // Handed over already dead: report it as closed once the caller has set onClose.
      process.nextTick(() => this.onSocketClose());
      return;
    }
    socket.setNoDelay(true);

    // The server preface (section 3.4): our SETTINGS, first of all we send. Sent at once, before the
    // client's preface is read, which the RFC allows and which saves the client a round trip.
    const settings: [number, number][] = [
      [SETTINGS_MAX_CONCURRENT_STREAMS, this.maxConcurrentStreams],
      [SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW],
      [SETTINGS_MAX_HEADER_LIST_SIZE, this.maxHeaderListSize],
    ];
    const at = this.reserve(FRAME_HEADER_LENGTH + 6 * settings.length);
    writeFrameHeader(this.arena, at, 6 * settings.length, SETTINGS, 0, 0);
    settings.forEach(([identifier, value], index) => {
      this.arena.writeUInt16BE(identifier, at + FRAME_HEADER_LENGTH + 6 * index);
      this.arena.writeUInt32BE(value, at + FRAME_HEADER_LENGTH + 6 * index + 2);
    });
    // The connection window is not a setting: it starts at 65 535 and only WINDOW_UPDATE raises it.
    this.writeWindowUpdate(0, CONNECTION_WINDOW - DEFAULT_WINDOW);
    this.flush();

    if (options.idleTimeoutMs > 0) {
      this.idleTimer = setTimeout(() => this.onIdle(), options.idleTimeoutMs);
      this.idleTimer.unref();
    }
    // The handover leaves the socket paused, with the sniffed bytes put back: they come first.
    socket.resume();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Graceful: GOAWAY(NO_ERROR, last stream id processed), let open streams finish, then end the socket. */
  close(): void {
    if (this.isClosed || this.goingAway) return;
    this.goingAway = true;
    this.writeGoAway(NO_ERROR);
    this.scheduleFlush();
    this.endIfDone();
  }

  destroy(): void {
    if (this.isClosed) return;
    // Input still being parsed (destroy called from onStream) stops at the next frame.
    this.failed = true;
    this.socket.destroy();
    // 'close' comes asynchronously; streams are settled at once so callers do not wait on them.
    this.abortAllStreams();
  }

  // ---- Input -----------------------------------------------------------------------------------------

  private onSocketData(chunk: Buffer): void {
    if (this.failed || this.isClosed) return;
    this.idleTimer?.refresh();
    this.inInput = true;
    try {
      this.parse(chunk);
    } catch (error) {
      // A bug of ours, not of the peer: end the connection rather than let the socket's 'data'
      // handler throw, which would take the process down.
      this.connectionError(INTERNAL_ERROR, `internal error: ${(error as Error).message}`);
    }
    this.inInput = false;
    this.flush();
  }

  private parse(chunk: Buffer): void {
    let offset = 0;
    const length = chunk.length;
    if (this.prefaceMatched < CLIENT_PREFACE.length) {
      while (offset < length && this.prefaceMatched < CLIENT_PREFACE.length) {
        if (chunk[offset] !== CLIENT_PREFACE[this.prefaceMatched]) {
          this.connectionError(PROTOCOL_ERROR, 'the client connection preface is wrong');
          return;
        }
        offset++;
        this.prefaceMatched++;
      }
    }
    while (offset < length && !this.failed) {
      const partial = this.partialPayload;
      if (partial !== undefined) {
        const take = Math.min(partial.length - this.partialFilled, length - offset);
        chunk.copy(partial, this.partialFilled, offset, offset + take);
        this.partialFilled += take;
        offset += take;
        if (this.partialFilled < partial.length) return;
        this.partialPayload = undefined;
        this.onFrame(this.partialType, this.partialFlags, this.partialStreamId, partial, 0, partial.length);
        continue;
      }
      let header: Buffer = chunk;
      let at = offset;
      if (this.headerFilled > 0 || length - offset < FRAME_HEADER_LENGTH) {
        const take = Math.min(FRAME_HEADER_LENGTH - this.headerFilled, length - offset);
        chunk.copy(this.headerScratch, this.headerFilled, offset, offset + take);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled < FRAME_HEADER_LENGTH) return;
        this.headerFilled = 0;
        header = this.headerScratch;
        at = 0;
      } else {
        offset += FRAME_HEADER_LENGTH;
      }
      const payloadLength = (header[at]! << 16) | (header[at + 1]! << 8) | header[at + 2]!;
      const type = header[at + 3]!;
      const flags = header[at + 4]!;
      const streamId = header.readUInt32BE(at + 5) & 0x7fffffff;
      if (payloadLength > OUR_MAX_FRAME_SIZE) {
        // Section 4.2: any frame may be treated so, and for frames that change connection state
        // (field blocks, SETTINGS, stream 0) it must be; skipping the others is not worth a path.
        this.connectionError(FRAME_SIZE_ERROR, `a frame of ${payloadLength} octets (type ${type})`);
        return;
      }
      if (length - offset >= payloadLength) {
        this.onFrame(type, flags, streamId, chunk, offset, offset + payloadLength);
        offset += payloadLength;
      } else {
        this.partialPayload = Buffer.allocUnsafe(payloadLength);
        this.partialFilled = 0;
        this.partialType = type;
        this.partialFlags = flags;
        this.partialStreamId = streamId;
      }
    }
  }

  private onFrame(
    type: number,
    flags: number,
    streamId: number,
    payload: Buffer,
    start: number,
    end: number,
  ): void {
    if (!this.sawSettings) {
      // Section 3.4: the preface's SETTINGS frame must be the first frame.
      if (type !== SETTINGS || (flags & FLAG_ACK) !== 0) {
        this.connectionError(PROTOCOL_ERROR, `the first frame is of type ${type}, not SETTINGS`);
        return;
      }
      this.sawSettings = true;
    }
    const block = this.block;
    if (block !== undefined && (type !== CONTINUATION || streamId !== block.streamId)) {
      // Section 6.10: a field block's frames come back to back, on one stream.
      this.connectionError(PROTOCOL_ERROR, `a frame of type ${type} inside a field block`);
      return;
    }
    switch (type) {
      case DATA:
        this.onData(flags, streamId, payload, start, end);
        return;
      case HEADERS:
        this.onHeaders(flags, streamId, payload, start, end);
        return;
      case PRIORITY:
        this.onPriority(streamId, payload, start, end);
        return;
      case RST_STREAM:
        this.onRstStream(streamId, payload, start, end);
        return;
      case SETTINGS:
        this.onSettings(flags, streamId, payload, start, end);
        return;
      case PUSH_PROMISE:
        this.connectionError(PROTOCOL_ERROR, 'a client sent PUSH_PROMISE');
        return;
      case PING:
        this.onPing(flags, streamId, payload, start, end);
        return;
      case GOAWAY:
        this.onGoAway(streamId, payload, start, end);
        return;
      case WINDOW_UPDATE:
        this.onWindowUpdate(streamId, payload, start, end);
        return;
      case CONTINUATION:
        this.onContinuation(flags, streamId, payload, start, end);
        return;
      default:
        // Section 5.5: frames of unknown types are ignored.
        return;
    }
  }

  private onData(flags: number, streamId: number, payload: Buffer, start: number, end: number): void {
    if (streamId === 0) {
      this.connectionError(PROTOCOL_ERROR, 'DATA on stream 0');
      return;
    }
    const length = end - start;
    // Flow control counts the whole payload, padding included (section 6.9.1), whatever becomes of
    // the stream, so the connection window is charged and replenished first.
    if (length > this.connectionReceiveWindow) {
      this.connectionError(FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
      return;
    }
    this.connectionReceiveWindow -= length;
    this.connectionUnacknowledged += length;
    if (this.connectionUnacknowledged >= CONNECTION_WINDOW / 2) {
      this.writeWindowUpdate(0, this.connectionUnacknowledged);
      this.connectionReceiveWindow += this.connectionUnacknowledged;
      this.connectionUnacknowledged = 0;
    }
    let dataStart = start;
    let dataEnd = end;
    if ((flags & FLAG_PADDED) !== 0) {
      const padLength = length > 0 ? payload[start]! : 0;
      if (length === 0 || padLength >= length) {
        this.connectionError(PROTOCOL_ERROR, 'DATA padding longer than the frame');
        return;
      }
      dataStart = start + 1;
      dataEnd = end - padLength;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      this.onFrameForAbsentStream('DATA', streamId);
      return;
    }
    if (stream.remoteEnded) {
      this.streamError(stream, STREAM_CLOSED, 'DATA after END_STREAM');
      return;
    }
    if (length > stream.receiveWindow) {
      this.streamError(stream, FLOW_CONTROL_ERROR, 'DATA beyond the stream window');
      return;
    }
    stream.receiveWindow -= length;
    stream.unacknowledged += length;
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    const size = dataEnd - dataStart;
    stream.bodyLength += size;
    if (stream.contentLength >= 0 && stream.bodyLength > stream.contentLength) {
      this.streamError(stream, PROTOCOL_ERROR, 'more DATA than content-length');
      return;
    }
    if (stream.bodyState === BODY_BUFFERING) {
      if (stream.bodyLimit >= 0 && stream.bodyLength > stream.bodyLimit) {
        stream.bodyState = BODY_DISCARDING;
        stream.dropBody();
        stream.settleBody('too_large');
      } else if (size > 0) {
        stream.appendBody(payload, dataStart, dataEnd);
      }
    }
    if (endStream) {
      this.onRequestEnd(stream);
    } else {
      this.replenishStreamWindow(stream);
    }
  }

  /** END_STREAM arrived (on DATA, HEADERS or trailers). */
  private onRequestEnd(stream: H2ServerStream): void {
    stream.remoteEnded = true;
    if (stream.contentLength >= 0 && stream.bodyLength !== stream.contentLength) {
      this.streamError(stream, PROTOCOL_ERROR, 'less DATA than content-length');
      return;
    }
    if (stream.bodyState === BODY_BUFFERING && stream.bodyResolve !== undefined) {
      stream.settleBody(stream.takeBody());
    }
    // Answered and sent in full before the body ended: the stream is done now.
    if (stream.responded && stream.pendingBody === undefined && !stream.isClosed)
      this.closeStream(stream, false);
  }

  /**
   * Gives the peer back stream window for the body octets it sent, in batches of half the window
   * rather than one WINDOW_UPDATE per DATA frame, and only while the caller reads the body within
   * its limit: a body nobody reads stops at one window, one larger than the limit stalls.
   */
  private replenishStreamWindow(stream: H2ServerStream): void {
    if (
      stream.unacknowledged >= STREAM_WINDOW / 2 &&
      stream.bodyLimit >= 0 &&
      stream.bodyState === BODY_BUFFERING &&
      !stream.remoteEnded &&
      !stream.isClosed
    ) {
      this.writeWindowUpdate(stream.id, stream.unacknowledged);
      stream.receiveWindow += stream.unacknowledged;
      stream.unacknowledged = 0;
    }
  }

  /** @internal readBody was called on a stream whose body is still coming. */
  streamBodyRead(stream: H2ServerStream): void {
    const before = this.queued.length + this.arenaEnd - this.arenaStart;
    this.replenishStreamWindow(stream);
    if (this.queued.length + this.arenaEnd - this.arenaStart !== before) this.scheduleFlush();
  }

  /** A frame that needs a stream on an id with no open stream: idle (an error) or closed. */
  private onFrameForAbsentStream(what: string, streamId: number): void {
    if (streamId > this.lastPeerStreamId) {
      // Section 5.1: idle streams may only receive HEADERS (and PRIORITY).
      this.connectionError(PROTOCOL_ERROR, `${what} on idle stream ${streamId}`);
      return;
    }
    // A closed stream. Frames the peer sent before it saw our RST_STREAM are to be expected and
    // are ignored (section 5.1, "closed"); otherwise the peer is talking on a stream it closed.
    const slot = this.recentlyClosed.indexOf(streamId);
    if (slot >= 0 && this.recentlyResetByUs[slot] === 1) return;
    this.writeRstStream(streamId, STREAM_CLOSED);
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer, start: number, end: number): void {
    if (streamId === 0) {
      this.connectionError(PROTOCOL_ERROR, 'HEADERS on stream 0');
      return;
    }
    let at = start;
    let fragmentEnd = end;
    if ((flags & FLAG_PADDED) !== 0) {
      const padLength = end > start ? payload[start]! : 0;
      if (end === start || padLength >= end - start) {
        this.connectionError(PROTOCOL_ERROR, 'HEADERS padding longer than the frame');
        return;
      }
      at++;
      fragmentEnd -= padLength;
    }
    let streamError = 0;
    if ((flags & FLAG_PRIORITY) !== 0) {
      if (fragmentEnd - at < 5) {
        this.connectionError(FRAME_SIZE_ERROR, 'HEADERS too short for its priority fields');
        return;
      }
      // Section 5.3.1 of RFC 7540, kept by RFC 9113 section 5.3.2: a stream cannot depend on itself.
      if ((payload.readUInt32BE(at) & 0x7fffffff) === streamId) streamError = PROTOCOL_ERROR;
      at += 5;
    }
    if ((streamId & 1) === 0) {
      this.connectionError(PROTOCOL_ERROR, `HEADERS on even stream ${streamId}`);
      return;
    }
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    const fragment = payload.subarray(at, fragmentEnd);
    if ((flags & FLAG_END_HEADERS) !== 0) {
      this.onFieldBlock(streamId, endStream, streamError, fragment);
      return;
    }
    if (!this.checkBlockSize(fragment.length)) return;
    const data = Buffer.allocUnsafe(Math.max(2 * fragment.length, 4096));
    fragment.copy(data);
    this.block = { streamId, endStream, streamError, data, size: fragment.length, emptyContinuations: 0 };
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer, start: number, end: number): void {
    const block = this.block;
    if (block === undefined) {
      this.connectionError(PROTOCOL_ERROR, `CONTINUATION on stream ${streamId} without HEADERS`);
      return;
    }
    if (
      end === start &&
      (flags & FLAG_END_HEADERS) === 0 &&
      ++block.emptyContinuations > MAX_EMPTY_CONTINUATIONS
    ) {
      this.connectionError(ENHANCE_YOUR_CALM, 'a flood of empty CONTINUATION frames');
      return;
    }
    const size = block.size + end - start;
    if (!this.checkBlockSize(size)) return;
    if (size > block.data.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * block.data.length, size));
      block.data.copy(grown, 0, 0, block.size);
      block.data = grown;
    }
    payload.copy(block.data, block.size, start, end);
    block.size = size;
    if ((flags & FLAG_END_HEADERS) !== 0) {
      this.block = undefined;
      this.onFieldBlock(block.streamId, block.endStream, block.streamError, block.data.subarray(0, size));
    }
  }

  /**
   * A field block cannot be skipped (the HPACK table would fall out of step) and we will not hold
   * an unbounded one, so beyond the bound the connection ends (RFC 9113 section 10.5.1).
   */
  private checkBlockSize(size: number): boolean {
    if (size <= Math.max(BLOCK_SIZE_FACTOR * this.maxHeaderListSize, 64 * 1024)) return true;
    this.connectionError(ENHANCE_YOUR_CALM, `a field block of ${size} octets or more`);
    return false;
  }

  /** A complete field block: a new request, trailers, or one to decode and refuse. */
  private onFieldBlock(streamId: number, endStream: boolean, priorityError: number, block: Buffer): void {
    const existing = this.streams.get(streamId);
    let kind: 'request' | 'trailers' | 'closed';
    if (existing !== undefined) {
      kind = existing.remoteEnded ? 'closed' : 'trailers';
    } else if (streamId <= this.lastPeerStreamId) {
      // Section 5.1.1: new streams take increasing ids. An id we recently closed is a stream the
      // peer knows is closed (STREAM_CLOSED below); any other lower id is a protocol error.
      if (this.recentlyClosed.indexOf(streamId) < 0) {
        this.connectionError(
          PROTOCOL_ERROR,
          `HEADERS on stream ${streamId} after stream ${this.lastPeerStreamId}`,
        );
        return;
      }
      kind = 'closed';
    } else {
      kind = 'request';
      this.lastPeerStreamId = streamId;
    }

    // Decode whatever the block is for: the dynamic table must follow the peer's encoder.
    const names: string[] = (this.fieldNames = []);
    const values: string[] = (this.fieldValues = []);
    let listSize: number;
    try {
      listSize = this.decoder.decode(block, this.collectField, this.maxHeaderListSize);
    } catch (error) {
      if (!(error instanceof HpackError)) throw error;
      this.connectionError(COMPRESSION_ERROR, `HPACK: ${error.message}`);
      return;
    }

    if (kind === 'closed') {
      if (existing !== undefined) this.streamError(existing, STREAM_CLOSED, 'HEADERS after END_STREAM');
      else this.writeRstStream(streamId, STREAM_CLOSED);
      return;
    }
    if (kind === 'trailers') {
      const stream = existing!;
      if (priorityError !== 0) {
        this.streamError(stream, priorityError, 'a stream depending on itself');
      } else if (!endStream) {
        // Section 8.1: a second field block is trailers, and trailers end the stream.
        this.streamError(stream, PROTOCOL_ERROR, 'a second HEADERS without END_STREAM');
      } else if (listSize > this.maxHeaderListSize || !validTrailers(names, values)) {
        this.streamError(stream, PROTOCOL_ERROR, 'malformed trailers');
      } else {
        this.onRequestEnd(stream);
      }
      return;
    }

    if (priorityError !== 0) {
      this.refuse(streamId, priorityError, 'a stream depending on itself');
      return;
    }
    if (this.goingAway) {
      // After our GOAWAY, streams above its last id are not processed (section 6.8); the peer may
      // retry them on a new connection.
      this.refuse(streamId, REFUSED_STREAM, undefined);
      return;
    }
    if (this.streams.size >= this.maxConcurrentStreams) {
      this.refuse(streamId, REFUSED_STREAM, undefined);
      return;
    }
    if (listSize > this.maxHeaderListSize) {
      // Section 10.5.1: an HTTP 431 tells the client why, better than a bare reset.
      this.answerDirectly(streamId, endStream, 431);
      return;
    }

    // Section 8.3.1: pseudo-header fields first, each once, only the request ones; then the
    // regular fields, lowercase and without connection-specific ones (section 8.2.2).
    let method: string | undefined;
    let path: string | undefined;
    let scheme: string | undefined;
    let authority: string | undefined;
    let host: string | undefined;
    let contentLength = -1;
    let malformed: string | undefined;
    let regular = 0;
    for (let i = 0; i < names.length && malformed === undefined; i++) {
      const name = names[i]!;
      const value = values[i]!;
      if (!validValue(value)) {
        malformed = `the value of ${printable(name)} has a forbidden character`;
        break;
      }
      if (name.charCodeAt(0) === 0x3a) {
        if (regular > 0) {
          malformed = `${printable(name)} after a regular field`;
        } else if (name === ':method') {
          if (method !== undefined) malformed = 'two :method fields';
          method = value;
        } else if (name === ':path') {
          if (path !== undefined) malformed = 'two :path fields';
          path = value;
        } else if (name === ':scheme') {
          if (scheme !== undefined) malformed = 'two :scheme fields';
          scheme = value;
        } else if (name === ':authority') {
          if (authority !== undefined) malformed = 'two :authority fields';
          authority = value;
        } else {
          malformed = `the pseudo-header field ${printable(name)}`;
        }
        continue;
      }
      // Move the regular field down over the pseudo-header fields, so the stream keeps only these.
      names[regular] = name;
      values[regular] = value;
      regular++;
      if (!validName(name)) {
        malformed = `the field name ${printable(name)}`;
      } else if (CONNECTION_SPECIFIC.has(name)) {
        malformed = `the connection-specific field ${name}`;
      } else if (name === 'te') {
        if (value !== 'trailers') malformed = 'te other than trailers';
      } else if (name === 'content-length') {
        const parsed = /^[0-9]{1,15}$/.test(value) ? Number(value) : -2;
        if (parsed < 0 || (contentLength >= 0 && parsed !== contentLength))
          malformed = 'a bad content-length';
        contentLength = parsed;
      } else if (name === 'host') {
        host = value;
      }
    }
    names.length = regular;
    values.length = regular;
    if (malformed === undefined) {
      if (method === undefined) {
        malformed = 'no :method';
      } else if (method === 'CONNECT') {
        // Section 8.5: CONNECT carries only :authority. We serve no tunnels, but the request is
        // well-formed, so it goes to the caller, who will refuse it.
        if (path !== undefined || scheme !== undefined || authority === undefined)
          malformed = 'a bad CONNECT';
      } else if (path === undefined || path === '' || scheme === undefined) {
        malformed = 'no :path or :scheme';
      } else if (endStream && contentLength > 0) {
        malformed = 'content-length without DATA';
      }
    }
    if (malformed !== undefined) {
      this.refuse(streamId, PROTOCOL_ERROR, `malformed request on stream ${streamId}: ${malformed}`);
      return;
    }

    const stream = new H2ServerStream(
      this,
      streamId,
      method!,
      path ?? '',
      authority ?? host,
      scheme,
      names,
      values,
      contentLength,
      endStream,
      this.peerInitialWindow,
    );
    this.streams.set(streamId, stream);
    this.lastProcessedStreamId = streamId;
    try {
      this.onStream(stream);
    } catch (error) {
      this.report(`http/2 onStream threw: ${(error as Error)?.message ?? String(error)}`);
      if (!stream.isClosed) this.streamError(stream, INTERNAL_ERROR, undefined);
    }
  }

  /** Resets a stream that never became open (refused, malformed): remembered as reset by us. */
  private refuse(streamId: number, code: number, message: string | undefined): void {
    if (message !== undefined) this.report(`http/2 stream error ${errorName(code)}: ${message}`);
    this.writeRstStream(streamId, code);
    this.rememberClosed(streamId, true);
  }

  /** Answers a request the caller never sees (431), then closes it like any answered stream. */
  private answerDirectly(streamId: number, endStream: boolean, status: number): void {
    this.writeHeaders(streamId, status, [], true);
    if (!endStream) this.writeRstStream(streamId, NO_ERROR);
    this.rememberClosed(streamId, !endStream);
  }

  private onPriority(streamId: number, payload: Buffer, start: number, end: number): void {
    if (streamId === 0) {
      this.connectionError(PROTOCOL_ERROR, 'PRIORITY on stream 0');
      return;
    }
    if (end - start !== 5) {
      this.priorityError(streamId, FRAME_SIZE_ERROR, 'PRIORITY of the wrong length');
      return;
    }
    if ((payload.readUInt32BE(start) & 0x7fffffff) === streamId) {
      this.priorityError(streamId, PROTOCOL_ERROR, 'a stream depending on itself');
    }
  }

  /**
   * Section 6.3 makes a bad PRIORITY frame a stream error, on a stream in any state. An idle stream
   * cannot be reset (section 6.4), so there the error becomes the connection's, which section 5.4.1
   * allows for any stream error.
   */
  private priorityError(streamId: number, code: number, message: string): void {
    const stream = this.streams.get(streamId);
    if (stream !== undefined) {
      this.streamError(stream, code, message);
    } else if (streamId > this.lastPeerStreamId) {
      this.connectionError(code, `${message} (idle stream ${streamId})`);
    } else {
      this.report(`http/2 stream error ${errorName(code)} on stream ${streamId}: ${message}`);
      this.writeRstStream(streamId, code);
    }
  }

  private onRstStream(streamId: number, payload: Buffer, start: number, end: number): void {
    if (end - start !== 4) {
      this.connectionError(FRAME_SIZE_ERROR, 'RST_STREAM of the wrong length');
      return;
    }
    if (streamId === 0) {
      this.connectionError(PROTOCOL_ERROR, 'RST_STREAM on stream 0');
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastPeerStreamId)
        this.connectionError(PROTOCOL_ERROR, `RST_STREAM on idle stream ${streamId}`);
      return;
    }
    this.closeStream(stream, false);
    this.countUnansweredReset(stream);
  }

  private countUnansweredReset(stream: H2ServerStream): void {
    if (stream.responded) return;
    this.unansweredResets++;
    if (this.unansweredResets > MAX_UNANSWERED_RESETS) {
      this.connectionError(ENHANCE_YOUR_CALM, 'too many streams reset before they were answered');
    }
  }

  private onSettings(flags: number, streamId: number, payload: Buffer, start: number, end: number): void {
    if (streamId !== 0) {
      this.connectionError(PROTOCOL_ERROR, `SETTINGS on stream ${streamId}`);
      return;
    }
    if ((flags & FLAG_ACK) !== 0) {
      // Our SETTINGS took effect: nothing to do, since we enforce our own values from the start
      // (they only loosen what the peer could assume before, except MAX_CONCURRENT_STREAMS, which
      // a peer that has not seen it yet will at worst be refused on).
      if (end !== start) this.connectionError(FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if ((end - start) % 6 !== 0) {
      this.connectionError(FRAME_SIZE_ERROR, 'SETTINGS of a length not a multiple of 6');
      return;
    }
    for (let at = start; at < end; at += 6) {
      const identifier = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (identifier) {
        case SETTINGS_ENABLE_PUSH:
        case SETTINGS_ENABLE_CONNECT_PROTOCOL:
          if (value > 1) {
            this.connectionError(PROTOCOL_ERROR, `setting ${identifier} = ${value}, not 0 or 1`);
            return;
          }
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) {
            this.connectionError(FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
            return;
          }
          // Section 6.9.2: the change applies to every open stream's window, which may go
          // negative (then nothing is sent until WINDOW_UPDATEs bring it back above zero).
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const stream of this.streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW) {
              this.connectionError(
                FLOW_CONTROL_ERROR,
                'SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window',
              );
              return;
            }
          }
          if (delta > 0)
            for (const stream of this.streams.values())
              if (stream.pendingBody !== undefined) this.sendPending(stream);
          break;
        }
        case SETTINGS_MAX_FRAME_SIZE:
          if (value < 16_384 || value > 16_777_215) {
            this.connectionError(PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
            return;
          }
          this.peerMaxFrameSize = value;
          break;
        case SETTINGS_HEADER_TABLE_SIZE:
          if (value < this.encoderTableSize) {
            this.encoderTableSize = value;
            this.pendingTableSizeUpdate = value;
          }
          break;
        case SETTINGS_MAX_CONCURRENT_STREAMS:
        case SETTINGS_MAX_HEADER_LIST_SIZE:
        default:
          // We open no streams and our response header lists are small; unknown settings are
          // ignored (section 6.5.2).
          break;
      }
    }
    const at = this.reserve(FRAME_HEADER_LENGTH);
    writeFrameHeader(this.arena, at, 0, SETTINGS, FLAG_ACK, 0);
  }

  private onPing(flags: number, streamId: number, payload: Buffer, start: number, end: number): void {
    if (end - start !== 8) {
      this.connectionError(FRAME_SIZE_ERROR, 'PING of the wrong length');
      return;
    }
    if (streamId !== 0) {
      this.connectionError(PROTOCOL_ERROR, `PING on stream ${streamId}`);
      return;
    }
    if ((flags & FLAG_ACK) !== 0) return;
    const at = this.reserve(FRAME_HEADER_LENGTH + 8);
    writeFrameHeader(this.arena, at, 8, PING, FLAG_ACK, 0);
    payload.copy(this.arena, at + FRAME_HEADER_LENGTH, start, end);
  }

  private onGoAway(streamId: number, payload: Buffer, start: number, end: number): void {
    if (streamId !== 0) {
      this.connectionError(PROTOCOL_ERROR, `GOAWAY on stream ${streamId}`);
      return;
    }
    if (end - start < 8) {
      this.connectionError(FRAME_SIZE_ERROR, 'GOAWAY shorter than 8 octets');
      return;
    }
    const code = payload.readUInt32BE(start + 4);
    if (code !== NO_ERROR) {
      const debug = payload.toString('latin1', start + 8, Math.min(end, start + 8 + 200));
      this.report(`http/2 peer sent GOAWAY ${errorName(code)}${debug === '' ? '' : `: ${debug}`}`);
    }
    // The client opens no more streams; the ones open are answered, then the connection ends.
    this.peerGoingAway = true;
    this.endIfDone();
  }

  private onWindowUpdate(streamId: number, payload: Buffer, start: number, end: number): void {
    if (end - start !== 4) {
      this.connectionError(FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong length');
      return;
    }
    const increment = payload.readUInt32BE(start) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) {
        this.connectionError(PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
        return;
      }
      if (this.connectionSendWindow + increment > MAX_WINDOW) {
        this.connectionError(FLOW_CONTROL_ERROR, 'WINDOW_UPDATE beyond 2^31-1 on the connection');
        return;
      }
      this.connectionSendWindow += increment;
      this.resumeWaiting();
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      // Common after a stream ended: the peer's update crossed our END_STREAM. Idle is an error.
      if (streamId > this.lastPeerStreamId)
        this.connectionError(PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${streamId}`);
      return;
    }
    if (increment === 0) {
      this.streamError(stream, PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      return;
    }
    if (stream.sendWindow + increment > MAX_WINDOW) {
      this.streamError(stream, FLOW_CONTROL_ERROR, 'WINDOW_UPDATE beyond 2^31-1');
      return;
    }
    stream.sendWindow += increment;
    if (stream.pendingBody !== undefined) this.sendPending(stream);
  }

  // ---- Responses -------------------------------------------------------------------------------------

  /** @internal The work of H2ServerStream.respond. */
  sendResponse(
    stream: H2ServerStream,
    status: number,
    headers: ReadonlyArray<readonly [string, string]>,
    body: Buffer | string | undefined,
  ): void {
    if (this.isClosed) return;
    try {
      if (!Number.isInteger(status) || status < 100 || status > 999) {
        this.report(`http/2 response status ${status} on stream ${stream.id} is not a status`);
        this.streamError(stream, INTERNAL_ERROR, undefined);
        return;
      }
      if (this.unansweredResets > 0) this.unansweredResets--;
      if (typeof body === 'string') {
        const length = Buffer.byteLength(body, 'utf8');
        if (
          length > 0 &&
          length <= COPY_PAYLOAD_MAX &&
          length <= stream.sendWindow &&
          length <= this.connectionSendWindow
        ) {
          // The usual small JSON answer: encoded straight into the output arena, no Buffer of its own.
          this.writeHeaders(stream.id, status, headers, false);
          const at = this.reserve(FRAME_HEADER_LENGTH + length);
          writeFrameHeader(this.arena, at, length, DATA, FLAG_END_STREAM, stream.id);
          this.arena.write(body, at + FRAME_HEADER_LENGTH, length, 'utf8');
          stream.sendWindow -= length;
          this.connectionSendWindow -= length;
          this.responseSent(stream);
          this.scheduleFlush();
          return;
        }
      }
      const data =
        body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const endStream = data === undefined || data.length === 0;
      this.writeHeaders(stream.id, status, headers, endStream);
      if (endStream) {
        this.responseSent(stream);
      } else {
        stream.pendingBody = data;
        stream.pendingOffset = 0;
        this.sendPending(stream);
      }
    } catch (error) {
      this.report(
        `http/2 respond failed on stream ${stream.id}: ${(error as Error)?.message ?? String(error)}`,
      );
      if (!stream.isClosed) this.streamError(stream, INTERNAL_ERROR, undefined);
    }
    this.scheduleFlush();
  }

  /** Sends as much of the stream's queued body as both windows and the peer's frame size allow. */
  private sendPending(stream: H2ServerStream): void {
    const body = stream.pendingBody;
    if (body === undefined || stream.isClosed) return;
    let offset = stream.pendingOffset;
    while (offset < body.length) {
      const size = Math.min(
        body.length - offset,
        this.peerMaxFrameSize,
        stream.sendWindow,
        this.connectionSendWindow,
      );
      if (size <= 0) {
        // Blocked on the stream's window: its WINDOW_UPDATE (or a SETTINGS change) resumes it.
        // Blocked on the connection's: wait in the list the next connection WINDOW_UPDATE walks.
        if (stream.sendWindow > 0 && !stream.waitingForConnectionWindow) {
          stream.waitingForConnectionWindow = true;
          this.waitingForWindow.push(stream);
        }
        stream.pendingOffset = offset;
        this.scheduleFlush();
        return;
      }
      const last = offset + size === body.length;
      this.writeData(stream.id, body, offset, size, last);
      offset += size;
      stream.sendWindow -= size;
      this.connectionSendWindow -= size;
    }
    stream.pendingBody = undefined;
    stream.pendingOffset = 0;
    this.responseSent(stream);
  }

  /** The last frame of the response is queued. */
  private responseSent(stream: H2ServerStream): void {
    if (stream.remoteEnded) {
      this.closeStream(stream, false);
    } else {
      // Section 8.1: answered before the request ended; the client should stop sending.
      this.writeRstStream(stream.id, NO_ERROR);
      this.closeStream(stream, true);
    }
  }

  private resumeWaiting(): void {
    const waiting = this.waitingForWindow;
    let index = 0;
    while (index < waiting.length && this.connectionSendWindow > 0) {
      const stream = waiting[index++]!;
      stream.waitingForConnectionWindow = false;
      this.sendPending(stream);
    }
    // Streams that were blocked again went back to the end of the list; drop the ones walked.
    waiting.splice(0, index);
    this.scheduleFlush();
  }

  // ---- Stream and connection ends ----------------------------------------------------------------------

  /** A stream error (section 5.4.2): RST_STREAM, and the stream is closed. */
  private streamError(stream: H2ServerStream, code: number, message: string | undefined): void {
    if (message !== undefined)
      this.report(`http/2 stream error ${errorName(code)} on stream ${stream.id}: ${message}`);
    this.writeRstStream(stream.id, code);
    this.closeStream(stream, true);
    if (code !== INTERNAL_ERROR) this.countUnansweredReset(stream);
    this.scheduleFlush();
  }

  private closeStream(stream: H2ServerStream, resetByUs: boolean): void {
    if (stream.isClosed) return;
    stream.isClosed = true;
    this.streams.delete(stream.id);
    this.rememberClosed(stream.id, resetByUs);
    stream.pendingBody = undefined;
    stream.dropBody();
    if (stream.waitingForConnectionWindow) {
      stream.waitingForConnectionWindow = false;
      const index = this.waitingForWindow.indexOf(stream);
      if (index >= 0) this.waitingForWindow.splice(index, 1);
    }
    if (stream.bodyState !== BODY_DELIVERED) {
      stream.bodyState = BODY_DELIVERED;
      stream.settleBody('aborted');
    }
    if (this.streams.size === 0) this.endIfDone();
  }

  private rememberClosed(streamId: number, resetByUs: boolean): void {
    this.recentlyClosed[this.recentlyClosedNext] = streamId;
    this.recentlyResetByUs[this.recentlyClosedNext] = resetByUs ? 1 : 0;
    this.recentlyClosedNext = (this.recentlyClosedNext + 1) % RECENTLY_CLOSED;
  }

  /** After a GOAWAY either way, the socket ends once the last stream is done. */
  private endIfDone(): void {
    if ((!this.goingAway && !this.peerGoingAway) || this.streams.size > 0 || this.isClosed) return;
    this.endSocket();
  }

  /** A connection error (section 5.4.1): GOAWAY with the code, then the socket ends. */
  private connectionError(code: number, message: string): void {
    if (this.failed || this.isClosed) return;
    this.failed = true;
    this.goingAway = true;
    this.report(`http/2 connection error ${errorName(code)}: ${message}`);
    this.block = undefined;
    this.partialPayload = undefined;
    this.writeGoAway(code);
    this.abortAllStreams();
    this.endSocket();
  }

  private abortAllStreams(): void {
    for (const stream of [...this.streams.values()]) this.closeStream(stream, true);
  }

  private endSocket(): void {
    this.flush();
    if (!this.socket.writableEnded) this.socket.end();
    if (this.endTimer === undefined) {
      // A peer that never closes its side must not keep the socket: the grace is enough to read
      // our GOAWAY.
      this.endTimer = setTimeout(() => this.socket.destroy(), END_GRACE_MS);
      this.endTimer.unref();
    }
  }

  private onIdle(): void {
    if (!this.isClosed) this.close();
  }

  private onSocketEnd(): void {
    // The peer will send nothing more: streams still waiting for their body never get it. A socket
    // without allowHalfOpen (net.Server's default) also ends our side by itself, so then no stream
    // can be answered either.
    const halfOpen = this.socket.allowHalfOpen;
    for (const stream of [...this.streams.values()]) {
      if (!halfOpen || !stream.remoteEnded) this.closeStream(stream, true);
    }
    this.peerGoingAway = true;
    this.endIfDone();
  }

  private onSocketDrain(): void {
    if (this.readingPaused && !this.isClosed) {
      this.readingPaused = false;
      this.socket.resume();
    }
  }

  private onSocketClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.failed = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.endTimer !== undefined) clearTimeout(this.endTimer);
    this.queued.length = 0;
    for (const stream of [...this.streams.values()]) this.closeStream(stream, false);
    const onClose = this.onClose;
    this.onClose = undefined;
    if (onClose !== undefined) {
      try {
        onClose();
      } catch (error) {
        this.report(`http/2 onClose threw: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }

  private report(message: string): void {
    if (this.reportError === undefined) return;
    try {
      this.reportError(message);
    } catch {
      // onError must not throw; if it does anyway, the connection does not care.
    }
  }

  // ---- Output ------------------------------------------------------------------------------------------

  /**
   * Reserves `size` octets of the arena for frames and returns where they start. Octets handed to
   * the socket are never overwritten: the arena only moves forward, and a full arena is replaced by
   * a new one (the socket keeps the old one alive until it is written) unless `flush` found the
   * socket's queue empty, which means everything went to the kernel and the arena can start over.
   */
  private reserve(size: number): number {
    if (this.arena.length - this.arenaEnd < size) {
      this.commitArena();
      this.arena = Buffer.allocUnsafe(Math.max(ARENA_SIZE, size));
      this.arenaStart = 0;
      this.arenaEnd = 0;
    }
    const at = this.arenaEnd;
    this.arenaEnd += size;
    return at;
  }

  private commitArena(): void {
    if (this.arenaEnd > this.arenaStart) {
      this.queued.push(this.arena.subarray(this.arenaStart, this.arenaEnd));
      this.arenaStart = this.arenaEnd;
    }
  }

  private scheduleFlush(): void {
    if (this.inInput || this.flushScheduled || this.isClosed) return;
    this.flushScheduled = true;
    process.nextTick(this.flushCallback);
  }

  private flush(): void {
    this.commitArena();
    const queued = this.queued;
    if (queued.length === 0) return;
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) {
      queued.length = 0;
      return;
    }
    this.idleTimer?.refresh();
    if (queued.length === 1) {
      socket.write(queued[0]!);
    } else {
      // cork/uncork hands the frames to the socket as one writev.
      socket.cork();
      for (let i = 0; i < queued.length; i++) socket.write(queued[i]!);
      socket.uncork();
    }
    queued.length = 0;
    if (socket.writableLength === 0) {
      // Written through to the kernel synchronously (the usual case): the arena is free again.
      this.arenaStart = 0;
      this.arenaEnd = 0;
    } else if (socket.writableLength > OUTPUT_HIGH_WATER && !this.readingPaused) {
      this.readingPaused = true;
      socket.pause();
    }
  }

  private writeWindowUpdate(streamId: number, increment: number): void {
    const at = this.reserve(FRAME_HEADER_LENGTH + 4);
    writeFrameHeader(this.arena, at, 4, WINDOW_UPDATE, 0, streamId);
    this.arena.writeUInt32BE(increment, at + FRAME_HEADER_LENGTH);
  }

  private writeRstStream(streamId: number, code: number): void {
    const at = this.reserve(FRAME_HEADER_LENGTH + 4);
    writeFrameHeader(this.arena, at, 4, RST_STREAM, 0, streamId);
    this.arena.writeUInt32BE(code, at + FRAME_HEADER_LENGTH);
  }

  private writeGoAway(code: number): void {
    const at = this.reserve(FRAME_HEADER_LENGTH + 8);
    writeFrameHeader(this.arena, at, 8, GOAWAY, 0, 0);
    // The last stream we handed to the caller: the peer may retry any later one elsewhere.
    this.arena.writeUInt32BE(this.lastProcessedStreamId, at + FRAME_HEADER_LENGTH);
    this.arena.writeUInt32BE(code, at + FRAME_HEADER_LENGTH + 4);
  }

  private writeData(streamId: number, body: Buffer, offset: number, size: number, last: boolean): void {
    const flags = last ? FLAG_END_STREAM : 0;
    if (size <= COPY_PAYLOAD_MAX) {
      const at = this.reserve(FRAME_HEADER_LENGTH + size);
      writeFrameHeader(this.arena, at, size, DATA, flags, streamId);
      body.copy(this.arena, at + FRAME_HEADER_LENGTH, offset, offset + size);
      return;
    }
    const at = this.reserve(FRAME_HEADER_LENGTH);
    writeFrameHeader(this.arena, at, size, DATA, flags, streamId);
    this.commitArena();
    this.queued.push(offset === 0 && size === body.length ? body : body.subarray(offset, offset + size));
  }

  /**
   * The response's field block, HPACK-encoded straight into the arena after a HEADERS frame header;
   * a block larger than the peer's frame size is moved out and split into CONTINUATION frames.
   */
  private writeHeaders(
    streamId: number,
    status: number,
    headers: ReadonlyArray<readonly [string, string]>,
    endStream: boolean,
  ): void {
    let bound = FRAME_HEADER_LENGTH + 5 + 6;
    for (let i = 0; i < headers.length; i++) {
      const [name, value] = headers[i]!;
      // A caller outside TypeScript's reach could pass a number; String() keeps the bound and the
      // encoding in agreement whatever comes.
      if (typeof name !== 'string' || typeof value !== 'string')
        return this.writeHeaders(
          streamId,
          status,
          headers.map(([n, v]) => [String(n), String(v)] as const),
          endStream,
        );
      bound += fieldBound(name, value);
    }
    const at = this.reserve(bound);
    const arena = this.arena;
    let end = at + FRAME_HEADER_LENGTH;
    if (this.pendingTableSizeUpdate >= 0) {
      // Dynamic table size update (RFC 7541 section 6.3): 001 and a 5-bit prefix integer.
      end = writeInteger(arena, end, 5, 0x20, this.pendingTableSizeUpdate);
      this.pendingTableSizeUpdate = -1;
    }
    end = writeStatus(arena, end, status);
    for (let i = 0; i < headers.length; i++) {
      const [name, value] = headers[i]!;
      // Connection-specific fields are forbidden in HTTP/2 (section 8.2.2); dropping them here
      // keeps a caller's habit from HTTP/1.1 from breaking the stream.
      if (CONNECTION_SPECIFIC.has(name)) continue;
      end = writeField(arena, end, name, value);
    }
    const blockLength = end - at - FRAME_HEADER_LENGTH;
    const endFlag = endStream ? FLAG_END_STREAM : 0;
    if (blockLength <= this.peerMaxFrameSize) {
      writeFrameHeader(arena, at, blockLength, HEADERS, endFlag | FLAG_END_HEADERS, streamId);
      this.arenaEnd = end;
      return;
    }
    const block = Buffer.from(arena.subarray(at + FRAME_HEADER_LENGTH, end));
    this.arenaEnd = at;
    for (let offset = 0; offset < block.length; offset += this.peerMaxFrameSize) {
      const size = Math.min(this.peerMaxFrameSize, block.length - offset);
      const first = offset === 0;
      const last = offset + size === block.length;
      const frameAt = this.reserve(FRAME_HEADER_LENGTH);
      writeFrameHeader(
        this.arena,
        frameAt,
        size,
        first ? HEADERS : CONTINUATION,
        (first ? endFlag : 0) | (last ? FLAG_END_HEADERS : 0),
        streamId,
      );
      this.commitArena();
      this.queued.push(block.subarray(offset, offset + size));
    }
  }
}

function writeFrameHeader(
  target: Buffer,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  target[at] = length >>> 16;
  target[at + 1] = (length >>> 8) & 0xff;
  target[at + 2] = length & 0xff;
  target[at + 3] = type;
  target[at + 4] = flags;
  target.writeUInt32BE(streamId, at + 5);
}

/** A peer's field name for a log line: quoted, escaped, and cut short (it may be 16 KiB long). */
function printable(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

function clampSetting(value: number): number {
  return Number.isNaN(value) ? 0 : Math.min(0xffffffff, Math.max(0, Math.floor(value)));
}

/** Section 8.2.2: fields that only mean something to HTTP/1.1 connections. */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Section 8.2.1: a field name has no character 0x00-0x20, 'A'-'Z' or 0x7f-0xff, and no colon
 * (pseudo-header fields are handled before this).
 */
function validName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code <= 0x20 || (code >= 0x41 && code <= 0x5a) || code >= 0x7f || code === 0x3a) return false;
  }
  return true;
}

/**
 * Section 8.2.1: a field value has no NUL, CR or LF. The section also forbids leading and trailing
 * whitespace, but clients in the field send it (nghttp2 had to make that check optional), and it
 * cannot smuggle anything, so it is let through.
 */
function validValue(value: string): boolean {
  const length = value.length;
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x00 || code === 0x0a || code === 0x0d) return false;
  }
  return true;
}

/** Trailers carry no pseudo-header fields (section 8.1) and follow the same field rules. */
function validTrailers(names: readonly string[], values: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (!validName(name) || CONNECTION_SPECIFIC.has(name) || !validValue(values[i]!)) return false;
  }
  return true;
}
