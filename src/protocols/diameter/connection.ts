/**
 * One Diameter transport connection, shared by the server and the client: framing the byte
 * stream, decoding, matching answers to the requests we sent (by Hop-by-Hop Identifier, RFC 6733
 * section 3), and batching writes. What a request means is the owner's business: this class hands
 * requests and undecodable messages to it.
 */
import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Clock } from '../../kernel/clock.js';
import { fail } from '../../kernel/errors.js';
import {
  CommandFlag,
  DiameterDecodeError,
  DiameterFramer,
  decodeMessage,
  encodeMessage,
  isRequest,
  peekHeader,
  type DiameterHeader,
  type DiameterMessage,
} from './codec.js';
import type { DiameterDictionary } from './dictionary.js';
import { DiameterErrors } from './errors.js';

/** The subset of a pino logger the Diameter face uses. */
export interface DiameterLogger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface ConnectionHandlers {
  /** A decoded request. */
  onRequest(message: DiameterMessage): void;
  /**
   * A message that did not decode, with its header when it could be read. After a fatal error
   * (the framing is lost) the connection is already being closed.
   */
  onDecodeError(error: DiameterDecodeError, frame: Buffer | undefined): void;
  /** Any received traffic (the watchdog uses it as proof of life). */
  onActivity?(): void;
  onClose(): void;
}

export interface ConnectionOptions {
  readonly maxMessageLength: number;
  readonly dictionary: DiameterDictionary;
  readonly requestTimeoutMs: number;
  readonly clock: Clock;
  readonly logger?: DiameterLogger;
}

interface Pending {
  readonly resolve: (answer: DiameterMessage) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The first End-to-End Identifier of this process (RFC 6733 section 3): the low 12 bits of the
 * current time in seconds in the high 12 bits and 20 random bits, so identifiers stay unique
 * across a restart within the 4 minutes the RFC asks for.
 */
function initialEndToEnd(clock: Clock): number {
  return (((Math.floor(clock.nowMs() / 1000) & 0xfff) << 20) | randomInt(0, 1 << 20)) >>> 0;
}

let endToEndCounter: number | undefined;

/** The next End-to-End Identifier, unique within this process. */
export function nextEndToEndId(clock: Clock): number {
  endToEndCounter = ((endToEndCounter ?? initialEndToEnd(clock)) + 1) >>> 0;
  return endToEndCounter;
}

export class DiameterConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly framer: DiameterFramer;
  private readonly pending = new Map<number, Pending>();
  private hopByHop = randomInt(0, 0xffffffff);
  private corked = false;
  private ended = false;
  private readonly closedPromise: Promise<void>;

  constructor(
    readonly socket: Socket,
    private readonly options: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.framer = new DiameterFramer(options.maxMessageLength);
    socket.setNoDelay(true);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      options.logger?.debug({ peer: this.remoteAddress, err: error.message }, 'diameter socket error');
    });
    socket.once('close', () => {
      this.ended = true;
      for (const [hopByHop, pending] of this.pending) {
        clearTimeout(pending.timer);
        pending.reject(
          fail(DiameterErrors.connection_closed, `the connection closed before answer ${hopByHop}`),
        );
      }
      this.pending.clear();
      handlers.onClose();
    });
  }

  /** Resolves once the socket has closed. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  get isWritable(): boolean {
    return !this.ended && this.socket.writable;
  }

  /** Requests we sent that await an answer. */
  get pendingCount(): number {
    return this.pending.size;
  }

  private onData(chunk: Buffer): void {
    this.handlers.onActivity?.();
    const failure = this.framer.push(chunk, (frame) => this.onFrame(frame));
    if (failure !== undefined && !this.ended) {
      // The stream cannot be split any more; answer if the header was readable, then close.
      this.handlers.onDecodeError(failure, undefined);
      this.end();
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.ended) return;
    let message: DiameterMessage;
    try {
      message = decodeMessage(frame, { dictionary: this.options.dictionary });
    } catch (error) {
      const decodeError =
        error instanceof DiameterDecodeError ? error : new DiameterDecodeError(5012, String(error));
      const header = decodeError.header ?? peekHeader(frame);
      if (header !== undefined && !isHeaderRequest(header)) {
        this.rejectPending(header.hopByHopId, decodeError);
        return;
      }
      this.handlers.onDecodeError(decodeError, frame);
      return;
    }
    if (isRequest(message)) {
      this.handlers.onRequest(message);
      return;
    }
    const pending = this.pending.get(message.hopByHopId);
    if (pending === undefined) {
      // RFC 6733 section 6.2: an answer matching no request of ours is discarded.
      this.options.logger?.debug(
        { peer: this.remoteAddress, hopByHopId: message.hopByHopId, commandCode: message.commandCode },
        'diameter answer matches no pending request; discarded',
      );
      return;
    }
    this.pending.delete(message.hopByHopId);
    clearTimeout(pending.timer);
    pending.resolve(message);
  }

  private rejectPending(hopByHopId: number, error: DiameterDecodeError): void {
    const pending = this.pending.get(hopByHopId);
    if (pending === undefined) return;
    this.pending.delete(hopByHopId);
    clearTimeout(pending.timer);
    pending.reject(
      fail(DiameterErrors.invalid_answer, error.message, { extra: { resultCode: error.resultCode } }),
    );
  }

  /**
   * Writes encoded bytes. Writes made in the same tick are corked and flushed together, so a burst
   * of pipelined answers becomes one TCP write instead of one per answer.
   */
  send(bytes: Uint8Array): void {
    if (!this.isWritable) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes);
  }

  /** The next Hop-by-Hop Identifier of this connection (RFC 6733 section 3: locally unique). */
  nextHopByHopId(): number {
    this.hopByHop = (this.hopByHop + 1) >>> 0;
    return this.hopByHop;
  }

  /**
   * Sends a request with fresh identifiers (unless it carries an End-to-End Identifier already)
   * and resolves with its answer, or rejects after the timeout or when the connection closes.
   */
  request(
    message: Omit<DiameterMessage, 'hopByHopId' | 'endToEndId'> & { readonly endToEndId?: number },
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<DiameterMessage> {
    if (!this.isWritable) {
      return Promise.reject(fail(DiameterErrors.connection_closed, 'the Diameter connection is closed'));
    }
    const hopByHopId = this.nextHopByHopId();
    const full: DiameterMessage = {
      ...message,
      flags: message.flags | CommandFlag.Request,
      hopByHopId,
      endToEndId: message.endToEndId ?? nextEndToEndId(this.options.clock),
    };
    const bytes = encodeMessage(full);
    return new Promise<DiameterMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(hopByHopId);
        reject(
          fail(
            DiameterErrors.request_timeout,
            `no answer to command ${message.commandCode} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      timer.unref();
      this.pending.set(hopByHopId, { resolve, reject, timer });
      this.send(bytes);
    });
  }

  /** Closes our side once written data is flushed. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.end();
    // A peer that never closes its side must not hold the socket open for ever.
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }

  /** Closes at once. */
  destroy(): void {
    this.ended = true;
    this.socket.destroy();
  }
}

function isHeaderRequest(header: DiameterHeader): boolean {
  return (header.flags & CommandFlag.Request) !== 0;
}
