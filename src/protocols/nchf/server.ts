/**
 * The Nchf_ConvergedCharging server (TS 32.291 Release 17, API version 3): HTTP/2 over cleartext
 * TCP with prior knowledge (h2c, as TS 29.500 has network functions speak) and HTTP/1.1, both on
 * one port.
 *
 * One port, two protocols. Node's `http2.createServer({ allowHTTP1: true })` only chooses between
 * the two through TLS ALPN; on cleartext it answers an HTTP/1.1 request with a parse error (checked
 * on Node 20). So the server listens with a plain `net.Server`, reads the first bytes of each
 * connection and compares them with the HTTP/2 connection preface (RFC 9113 section 3.4,
 * `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`): a match goes to the project's own HTTP/2 connection
 * (src/protocols/http2, leaner than node:http2), anything else to an `http` server, with the bytes
 * read put back (`unshift`) for the chosen one to parse. The first
 * byte of an HTTP/1.1 request already differs from the preface except for `P`, and the second
 * always does (`POST`, `PUT`, `PATCH` versus `PRI`), so the choice costs one or two bytes.
 *
 * Routes (every one authenticated, every body a ChargingDataRequest):
 *   POST {prefix}/nchf-convergedcharging/v3/chargingdata                 → 201, Location, response
 *   POST {prefix}/nchf-convergedcharging/v3/chargingdata/{ref}/update    → 200, response
 *   POST {prefix}/nchf-convergedcharging/v3/chargingdata/{ref}/release   → 204
 * and the errors of TS 29.500 as TS 29.571 ProblemDetails (see docs/nchf.md for the table).
 *
 * The charging itself is the injected `ConvergedChargingHandler`; this file only translates. The hot
 * path does no logging below error, compiles nothing (the validators are compiled when schema.ts
 * loads) and allocates little beyond the parsed body and the response text.
 */
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { Clock } from '../../kernel/clock.js';
import { H2ServerConnection, type H2ServerStream } from '../http2/index.js';
import {
  NCHF_API_NAME,
  NCHF_BASE_PATH,
  type ChargingDataRequest,
  type ChargingDataResponse,
} from './model.js';
import type { ProblemDetails } from './model.js';
import { CHARGING_DATA_NOT_FOUND_CAUSE, problem, type ChargingFailure } from './problem.js';
import { parseChargingDataRequest } from './schema.js';

/** What the handler learns about the request besides its body. */
export interface ChargingRequestContext<Caller> {
  /** Who is calling, as `authorise` identified them. */
  readonly caller: Caller;
  /** When the request's headers arrived (the injected clock). */
  readonly receivedMs: number;
  readonly protocol: 'h2c' | 'http/1.1';
  readonly remoteAddress: string | undefined;
}

/** A created charging session: its reference (the last path segment of Location) and the response. */
export interface ChargingDataCreated {
  readonly ref: string;
  readonly response: ChargingDataResponse;
}

/**
 * The charging core, as this face sees it. Each method returns its result or a `ChargingFailure`
 * (see problem.ts: `chargingFailure('QUOTA_LIMIT_REACHED', ...)`, `chargingDataNotFound(ref)`),
 * synchronously or as a promise. A method that throws produces a 500 whose body says nothing about
 * the error; the error goes to the logger.
 *
 * `ref` is the ChargingDataRef the core chose at create: 1 to 128 characters of `A-Z a-z 0-9 . _ ~ -`
 * (URL-safe, so it goes into Location unescaped). Update and release are called only with refs of
 * that shape; any other path segment is answered 404 without asking the core.
 */
export interface ConvergedChargingHandler<Caller> {
  create(
    request: ChargingDataRequest,
    context: ChargingRequestContext<Caller>,
  ): ChargingDataCreated | ChargingFailure | Promise<ChargingDataCreated | ChargingFailure>;
  update(
    ref: string,
    request: ChargingDataRequest,
    context: ChargingRequestContext<Caller>,
  ): ChargingDataResponse | ChargingFailure | Promise<ChargingDataResponse | ChargingFailure>;
  release(
    ref: string,
    request: ChargingDataRequest,
    context: ChargingRequestContext<Caller>,
  ): void | ChargingFailure | Promise<void | ChargingFailure>;
}

/**
 * Identifies the caller from the Authorization header (an OAuth 2.0 bearer token, TS 33.501
 * clause 13.4.1): the caller, or undefined to answer 401.
 */
export type Authorise<Caller> = (
  authorizationHeader: string | undefined,
) => Caller | undefined | Promise<Caller | undefined>;

/** The subset of a pino logger the server uses. */
export interface NchfLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface NchfServerOptions<Caller> {
  /** Address to bind; 127.0.0.1 by default (open it to the core network deliberately). */
  readonly host?: string;
  /** TCP port; 0 for an ephemeral port (tests). Nchf has no registered port. */
  readonly port: number;
  readonly handler: ConvergedChargingHandler<Caller>;
  readonly authorise: Authorise<Caller>;
  readonly clock: Clock;
  readonly logger?: NchfLogger;
  /**
   * The apiRoot of TS 29.501 clause 4.4.1 (`http://chf.example.net:8080`), used to make Location
   * absolute. Without it, Location is built from the request's authority (`:authority` or Host)
   * with the http scheme, or left relative when that authority does not look like a host name.
   */
  readonly apiRoot?: string;
  /** A path prefix before `/nchf-convergedcharging` (the optional part of apiRoot), e.g. `/chf`. */
  readonly pathPrefix?: string;
  /** Largest request body accepted; larger ones get 413. Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS offered to each client. Default 1000. */
  readonly maxConcurrentStreams?: number;
  /** A connection with no traffic for this long is closed. Default 120 s. */
  readonly idleTimeoutMs?: number;
  /** How long close() waits for requests in flight before cutting connections. Default 10 s. */
  readonly closeTimeoutMs?: number;
}

export interface NchfServerCounters {
  /** Requests (HTTP/2 streams and HTTP/1.1 requests) received. */
  readonly requests: number;
  /** Responses sent, by status code. */
  readonly responses: Readonly<Record<string, number>>;
  /** HTTP/2 connections accepted. */
  readonly http2Connections: number;
  /** HTTP/1.1 connections accepted. */
  readonly http1Connections: number;
  /** Handler calls that threw (answered 500). */
  readonly handlerErrors: number;
}

export interface NchfServer {
  /** The bound address and port (the real port when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number };
  /** A snapshot of the counters, for /metrics. */
  counters(): NchfServerCounters;
  /**
   * Stops accepting connections, tells HTTP/2 clients to go away (GOAWAY) and HTTP/1.1 clients to
   * close (`Connection: close`), waits for the requests in flight to be answered, then closes.
   * Connections still open after `closeTimeoutMs` are cut.
   */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_MAX_CONCURRENT_STREAMS = 1000;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
/** A connection that has not sent its first bytes within this time is dropped. */
const FIRST_BYTES_TIMEOUT_MS = 10_000;

/** RFC 9113 section 3.4: the bytes every HTTP/2 connection starts with. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const REF_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;
const AUTHORITY_PATTERN = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

const JSON_TYPE = 'application/json';
const PROBLEM_TYPE = 'application/problem+json';

type Operation = 'create' | 'update' | 'release';

/** A response to send: status, the few headers this API uses, and the body text. */
interface Reply {
  readonly status: number;
  readonly contentType?: string;
  readonly body?: string;
  readonly location?: string;
  readonly allow?: string;
  readonly wwwAuthenticate?: string;
}

type BodyOutcome = Buffer | 'too_large' | 'aborted';

/** One request, whichever protocol carried it. */
interface Exchange {
  readonly protocol: 'h2c' | 'http/1.1';
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly contentLength: string | undefined;
  readonly authority: string | undefined;
  readonly remoteAddress: string | undefined;
  readBody(limit: number): Promise<BodyOutcome>;
  send(reply: Reply): void;
}

function problemReply(status: number, detail: string, cause?: string, extra?: Partial<Reply>): Reply {
  return {
    status,
    contentType: PROBLEM_TYPE,
    body: JSON.stringify(problem(status, detail, cause)),
    ...extra,
  };
}

function isFailure(value: unknown): value is ChargingFailure {
  return typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === false;
}

function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

/** `application/json`, with or without parameters (`; charset=utf-8`), in any letter case. */
function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value === JSON_TYPE) return true;
  const lower = value.toLowerCase();
  if (!lower.startsWith(JSON_TYPE)) return false;
  const next = lower.charCodeAt(JSON_TYPE.length);
  return Number.isNaN(next) || next === 0x3b /* ; */ || next === 0x20 /* space */ || next === 0x09;
}

/** Binds the port and starts serving; resolves once listening. */
export async function startNchfServer<Caller>(options: NchfServerOptions<Caller>): Promise<NchfServer> {
  const host = options.host ?? '127.0.0.1';
  const { handler, authorise, clock, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const pathPrefix = (options.pathPrefix ?? '').replace(/\/+$/, '');
  if (pathPrefix !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(pathPrefix)) {
    throw new RangeError(`invalid Nchf path prefix "${pathPrefix}"`);
  }
  const apiRoot = options.apiRoot?.replace(/\/+$/, '');
  const apiPath = `${pathPrefix}/${NCHF_API_NAME}/`;
  const collectionPath = `${pathPrefix}${NCHF_BASE_PATH}/chargingdata`;

  const counts = { requests: 0, http2Connections: 0, http1Connections: 0, handlerErrors: 0 };
  // Indexed by status code; a typed array keeps the per-response count an increment.
  const statusCounts = new Float64Array(600);
  const sockets = new Set<Socket>();
  const connections = new Set<H2ServerConnection>();
  /** Requests not answered yet, and close()'s wait for them to be (see answered). */
  let inFlight = 0;
  let onAnswered: (() => void) | undefined;
  let closing = false;
  let requestSeq = 0;

  function locationFor(exchange: Exchange, ref: string): string {
    const path = `${collectionPath}/${ref}`;
    if (apiRoot !== undefined) return `${apiRoot}${path}`;
    const authority = exchange.authority;
    return authority !== undefined && AUTHORITY_PATTERN.test(authority) ? `http://${authority}${path}` : path;
  }

  /** The answer to one request. Never throws: unexpected errors become a 500 that leaks nothing. */
  async function answer(exchange: Exchange): Promise<Reply> {
    const queryAt = exchange.path.indexOf('?');
    const path = queryAt < 0 ? exchange.path : exchange.path.slice(0, queryAt);

    // Route first: an unknown path or method is refused without authenticating or reading the body.
    let operation: Operation;
    let ref = '';
    if (path === collectionPath) {
      operation = 'create';
    } else if (path.startsWith(collectionPath) && path.charCodeAt(collectionPath.length) === 0x2f /* / */) {
      const rest = path.slice(collectionPath.length + 1);
      const slash = rest.indexOf('/');
      const action = slash < 0 ? '' : rest.slice(slash + 1);
      if (action === 'update') operation = 'update';
      else if (action === 'release') operation = 'release';
      else {
        return problemReply(
          404,
          'this API has no such resource; use .../chargingdata/{ChargingDataRef}/update or /release',
          'RESOURCE_URI_STRUCTURE_NOT_FOUND',
        );
      }
      ref = rest.slice(0, slash);
    } else if (path.startsWith(apiPath)) {
      return problemReply(400, `this CHF serves ${NCHF_BASE_PATH} only`, 'INVALID_API');
    } else {
      return problemReply(404, 'no such resource');
    }
    if (exchange.method !== 'POST') {
      return problemReply(405, `${exchange.method} is not allowed here; use POST`, undefined, {
        allow: 'POST',
      });
    }

    let caller = authorise(exchange.authorization);
    if (isPromiseLike<Caller | undefined>(caller)) caller = await caller;
    if (caller === undefined) {
      return problemReply(401, 'a valid bearer token is required', undefined, {
        wwwAuthenticate: exchange.authorization === undefined ? 'Bearer' : 'Bearer error="invalid_token"',
      });
    }

    if (operation !== 'create' && !REF_PATTERN.test(ref)) {
      return problemReply(
        404,
        'no charging data resource with this reference',
        CHARGING_DATA_NOT_FOUND_CAUSE,
      );
    }
    if (!isJsonContentType(exchange.contentType)) {
      return problemReply(415, 'send the ChargingDataRequest as application/json');
    }
    const declaredLength = exchange.contentLength;
    if (declaredLength !== undefined && Number(declaredLength) > maxBodyBytes) {
      return problemReply(413, `the request body is larger than ${maxBodyBytes} bytes`);
    }
    const receivedMs = clock.nowMs();
    const body = await exchange.readBody(maxBodyBytes);
    if (body === 'too_large')
      return problemReply(413, `the request body is larger than ${maxBodyBytes} bytes`);
    if (body === 'aborted') return ABORTED_REPLY;
    const parsed = parseChargingDataRequest(body.toString('utf8'));
    if (!parsed.ok) {
      return { status: 400, contentType: PROBLEM_TYPE, body: JSON.stringify(parsed.problem) };
    }

    const context: ChargingRequestContext<Caller> = {
      caller,
      receivedMs,
      protocol: exchange.protocol,
      remoteAddress: exchange.remoteAddress,
    };
    const seq = ++requestSeq;
    try {
      if (operation === 'create') {
        const result = await handler.create(parsed.value, context);
        if (isFailure(result)) return failureReply(result);
        if (typeof result?.ref !== 'string' || !REF_PATTERN.test(result.ref)) {
          throw new TypeError('the handler returned a ChargingDataRef that is not URL-safe');
        }
        return {
          status: 201,
          contentType: JSON_TYPE,
          body: JSON.stringify(result.response),
          location: locationFor(exchange, result.ref),
        };
      }
      if (operation === 'update') {
        const result = await handler.update(ref, parsed.value, context);
        if (isFailure(result)) return failureReply(result);
        return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(result) };
      }
      const result = await handler.release(ref, parsed.value, context);
      if (isFailure(result)) return failureReply(result);
      return NO_CONTENT_REPLY;
    } catch (error) {
      counts.handlerErrors += 1;
      logger?.error(
        {
          request: seq,
          operation,
          ref: ref === '' ? undefined : ref,
          err: error instanceof Error ? (error.stack ?? error.message) : String(error),
        },
        'nchf charging handler failed',
      );
      return SYSTEM_FAILURE_REPLY;
    }
  }

  /** The handler's refusal as sent: its status (a 4xx or 5xx, else 500) and its problem document. */
  function failureReply(failure: ChargingFailure): Reply {
    const status =
      Number.isInteger(failure.status) && failure.status >= 400 && failure.status <= 599
        ? failure.status
        : 500;
    const document: ProblemDetails = { ...failure.problem, status };
    return { status, contentType: PROBLEM_TYPE, body: JSON.stringify(document) };
  }

  function run(exchange: Exchange): void {
    counts.requests += 1;
    inFlight += 1;
    // One promise per request for the answer, and a counter rather than a set of tasks with a
    // `finally` each (two more promises per request, on the hot path).
    void answer(exchange).then(
      (reply) => {
        try {
          exchange.send(reply);
        } finally {
          answered();
        }
      },
      (error: unknown) => {
        try {
          // authorise() threw or rejected: the same 500 as a failing handler.
          counts.handlerErrors += 1;
          logger?.error(
            { err: error instanceof Error ? (error.stack ?? error.message) : String(error) },
            'nchf request failed before the handler',
          );
          exchange.send(SYSTEM_FAILURE_REPLY);
        } finally {
          answered();
        }
      },
    );
  }

  function answered(): void {
    inFlight -= 1;
    if (inFlight === 0) onAnswered?.();
  }

  function countResponse(status: number): void {
    if (status >= 0 && status < 600) statusCounts[status] = (statusCounts[status] ?? 0) + 1;
  }

  // HTTP/2: the project's own connection (src/protocols/http2), not node:http2, whose streams cost
  // about 70 µs of CPU per request on the event loop (an Http2Stream, a Duplex and its buffers,
  // async-hook trampolines and an error object per response; see docs/nchf.md).
  const maxConcurrentStreams = options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS;
  function startHttp2(socket: Socket): void {
    counts.http2Connections += 1;
    const connection: H2ServerConnection = new H2ServerConnection(socket, {
      maxConcurrentStreams,
      idleTimeoutMs,
      onStream: (stream) => run(new LeanHttp2Exchange(stream, connection.remoteAddress, countResponse)),
      onError: (message) => logger?.warn({ err: message }, 'nchf http/2 connection error'),
    });
    connections.add(connection);
    connection.onClose = () => connections.delete(connection);
    if (closing) connection.close();
  }

  // The HTTP/1.1 server never listens itself (its connections come from handOver), and Node only
  // starts its connection bookkeeping (closeIdleConnections, requestTimeout) on 'listening'. So
  // this file counts the requests open on each HTTP/1.1 connection itself, to close idle ones on
  // shutdown, and bounds a connection by inactivity (`timeout`) rather than by requestTimeout.
  const http1Server = createHttp1Server({ keepAliveTimeout: 5_000 });
  http1Server.setTimeout(idleTimeoutMs);
  const http1Open = new Map<Socket, number>();
  http1Server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    http1Open.set(socket, (http1Open.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (http1Open.get(socket) ?? 1) - 1;
      if (http1Open.has(socket)) http1Open.set(socket, left);
    });
    run(new Http1Exchange(request, response, countResponse, () => closing));
  });
  http1Server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && !socket.destroyed) {
      const body = JSON.stringify(problem(400, 'the HTTP request is malformed', 'INVALID_MSG_FORMAT'));
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: ${PROBLEM_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    } else {
      socket.destroy();
    }
  });

  const netServer = createNetServer({ noDelay: true });
  netServer.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (closing && sockets.size === 0) onDrained?.();
    });
    if (closing) {
      socket.destroy();
      return;
    }
    handOver(socket);
  });

  /** Reads until the first bytes decide the protocol, puts them back and gives the socket away. */
  function handOver(socket: Socket): void {
    let pending: Buffer | undefined;
    const onError = (): void => {
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      const data = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      const compared = Math.min(data.length, HTTP2_PREFACE.length);
      const http2 = data.compare(HTTP2_PREFACE, 0, compared, 0, compared) === 0;
      if (http2 && data.length < HTTP2_PREFACE.length) {
        pending = data;
        return;
      }
      socket.off('data', onData);
      socket.off('error', onError);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(data);
      if (http2) {
        // The connection reads the bytes put back first (they are the preface), then the rest.
        startHttp2(socket);
      } else {
        counts.http1Connections += 1;
        http1Open.set(socket, 0);
        socket.once('close', () => http1Open.delete(socket));
        // The HTTP/1.1 parser takes the socket's handle over and reads new bytes from it directly;
        // the bytes put back reach it only as a 'data' event, which needs the socket flowing.
        // resume() emits them on the next tick, before any later bytes can arrive from the handle.
        http1Server.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
  }

  await new Promise<void>((resolve, reject) => {
    netServer.once('error', reject);
    netServer.listen(options.port, host, () => {
      netServer.off('error', reject);
      resolve();
    });
  });
  netServer.on('error', (error) => logger?.error({ err: error.message }, 'nchf server socket error'));
  const bound = netServer.address();
  const address =
    typeof bound === 'object' && bound !== null
      ? { host: bound.address, port: bound.port }
      : { host, port: options.port };
  logger?.info(address, 'nchf converged charging server listening');

  /** Ends the HTTP/1.1 connections with no request open: nothing is being said on them. */
  function closeIdleHttp1(): void {
    for (const [socket, openRequests] of http1Open) if (openRequests === 0) socket.destroy();
  }

  let onDrained: (() => void) | undefined;
  let closed: Promise<void> | undefined;
  return {
    address,
    counters(): NchfServerCounters {
      const responses: Record<string, number> = {};
      for (let status = 100; status < 600; status++) {
        const count = statusCounts[status] ?? 0;
        if (count > 0) responses[String(status)] = count;
      }
      return { ...counts, responses };
    },
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => netServer.close(() => resolve()));
        for (const connection of connections) connection.close();
        closeIdleHttp1();
        const drained =
          sockets.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (onDrained = resolve));
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), closeTimeoutMs);
          timer.unref();
        });
        // Requests in flight are answered first; their connections then close (GOAWAY, Connection: close).
        const settled = (async () => {
          if (inFlight > 0) await new Promise<void>((resolve) => (onAnswered = resolve));
          // Answers sent while closing carry Connection: close, so Node ends those connections once
          // the answer is out; what is left is idle.
          closeIdleHttp1();
          await drained;
        })();
        const outcome = await Promise.race([settled.then(() => 'drained' as const), timedOut]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          logger?.warn({ connections: sockets.size }, 'nchf server: connections cut after the close timeout');
          for (const connection of connections) connection.destroy();
          for (const socket of sockets) socket.destroy();
        }
        await stopped;
        logger?.info({ port: address.port }, 'nchf converged charging server closed');
      })();
      return closed;
    },
  };
}

const NO_CONTENT_REPLY: Reply = { status: 204 };
const SYSTEM_FAILURE_REPLY: Reply = problemReply(
  500,
  'the charging function could not process the request',
  'SYSTEM_FAILURE',
);
/** The client went away before sending the whole body: nothing can be answered. */
const ABORTED_REPLY: Reply = { status: 0 };

/** An exchange on the project's own HTTP/2 connection (src/protocols/http2). */
class LeanHttp2Exchange implements Exchange {
  readonly protocol = 'h2c' as const;
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly contentLength: string | undefined;
  readonly authority: string | undefined;

  constructor(
    private readonly stream: H2ServerStream,
    readonly remoteAddress: string | undefined,
    private readonly countResponse: (status: number) => void,
  ) {
    this.method = stream.method;
    this.path = stream.path;
    this.authorization = stream.header('authorization');
    this.contentType = stream.header('content-type');
    this.contentLength = stream.header('content-length');
    this.authority = stream.authority;
  }

  readBody(limit: number): Promise<BodyOutcome> {
    return this.stream.readBody(limit);
  }

  send(reply: Reply): void {
    const stream = this.stream;
    if (reply.status === 0 || stream.closed) return;
    const headers: Array<readonly [string, string]> = [];
    if (reply.contentType !== undefined) headers.push(['content-type', reply.contentType]);
    if (reply.location !== undefined) headers.push(['location', reply.location]);
    if (reply.allow !== undefined) headers.push(['allow', reply.allow]);
    if (reply.wwwAuthenticate !== undefined) headers.push(['www-authenticate', reply.wwwAuthenticate]);
    if (reply.body === undefined) {
      stream.respond(reply.status, headers);
    } else {
      headers.push(['content-length', String(Buffer.byteLength(reply.body))]);
      // Given as text: the connection encodes a small answer straight into its output buffer. An
      // answer before the whole body arrived (an early refusal, a body too large) is followed by
      // RST_STREAM(NO_ERROR) once it is out (RFC 9113 section 8.1): the connection does that.
      stream.respond(reply.status, headers, reply.body);
    }
    this.countResponse(reply.status);
  }
}

class Http1Exchange implements Exchange {
  readonly protocol = 'http/1.1' as const;
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly contentLength: string | undefined;
  readonly authority: string | undefined;
  readonly remoteAddress: string | undefined;

  constructor(
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    private readonly countResponse: (status: number) => void,
    private readonly isClosing: () => boolean,
  ) {
    this.method = request.method ?? '';
    this.path = request.url ?? '';
    this.authorization = request.headers.authorization;
    this.contentType = request.headers['content-type'];
    this.contentLength = request.headers['content-length'];
    this.authority = request.headers.host;
    this.remoteAddress = request.socket.remoteAddress;
  }

  readBody(limit: number): Promise<BodyOutcome> {
    const request = this.request;
    return new Promise<BodyOutcome>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > limit) {
          request.off('data', onData);
          resolve('too_large');
          return;
        }
        chunks.push(chunk);
      };
      request.on('data', onData);
      request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
      request.once('close', () => resolve(request.complete ? Buffer.concat(chunks, size) : 'aborted'));
    });
  }

  send(reply: Reply): void {
    const response = this.response;
    if (reply.status === 0 || response.headersSent || response.destroyed) return;
    const headers: Record<string, string | number> = {};
    if (reply.contentType !== undefined) headers['content-type'] = reply.contentType;
    if (reply.location !== undefined) headers.location = reply.location;
    if (reply.allow !== undefined) headers.allow = reply.allow;
    if (reply.wwwAuthenticate !== undefined) headers['www-authenticate'] = reply.wwwAuthenticate;
    // Keep-alive is only safe when the whole request body was read; when closing, ask the client
    // to open no further requests on this connection.
    if (this.isClosing() || !this.request.complete) headers.connection = 'close';
    if (reply.body === undefined) {
      response.writeHead(reply.status, headers);
      response.end();
    } else {
      headers['content-length'] = Buffer.byteLength(reply.body);
      response.writeHead(reply.status, headers);
      response.end(reply.body);
    }
    this.countResponse(reply.status);
  }
}
