/**
 * A small Nchf_ConvergedCharging client over HTTP/2 with prior knowledge (h2c): one connection,
 * many concurrent streams, as an SMF talks to a CHF. For tests and the load generator; it is not a
 * consumer implementation (no NF discovery, no retries, no failover).
 *
 * Every call resolves with what came back (status, headers, body parsed when it is JSON) and
 * rejects only when no response came (connection refused or lost, timeout). The connection is
 * opened on first use and opened again on the next call after it closed.
 */
import {
  connect,
  constants as http2Constants,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import {
  NCHF_BASE_PATH,
  type ChargingDataRequest,
  type ChargingDataResponse,
  type ProblemDetails,
} from './model.js';

export interface NchfClientOptions {
  /** The CHF's apiRoot, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string;
  /** A path prefix before `/nchf-convergedcharging`, as the server's `pathPrefix`. */
  readonly pathPrefix?: string;
  /** Sent as `Authorization: Bearer <token>` unless a call overrides it. */
  readonly token?: string;
  /** How long a call waits for the complete response. Default 5 s. */
  readonly timeoutMs?: number;
}

export interface NchfCallOptions {
  /** Extra or replacing request headers (e.g. a different content-type, for tests). */
  readonly headers?: Readonly<Record<string, string>>;
  /** This call's token; `null` sends no Authorization header. */
  readonly token?: string | null;
}

export interface NchfReply<Body> {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body parsed as JSON when it is JSON, else undefined. */
  readonly body: Body | undefined;
  /** The body as received. */
  readonly text: string;
}

export interface NchfClient {
  /** POST .../chargingdata: 201 with Location and a ChargingDataResponse, or a problem. */
  create(
    request: ChargingDataRequest | string,
    options?: NchfCallOptions,
  ): Promise<NchfReply<ChargingDataResponse & ProblemDetails>>;
  /** POST .../chargingdata/{ref}/update: 200 with a ChargingDataResponse, or a problem. */
  update(
    ref: string,
    request: ChargingDataRequest | string,
    options?: NchfCallOptions,
  ): Promise<NchfReply<ChargingDataResponse & ProblemDetails>>;
  /** POST .../chargingdata/{ref}/release: 204, or a problem. */
  release(
    ref: string,
    request: ChargingDataRequest | string,
    options?: NchfCallOptions,
  ): Promise<NchfReply<ProblemDetails>>;
  /** Any request on the connection; `path` is absolute (`/nchf-convergedcharging/v3/...`). */
  request(
    method: string,
    path: string,
    body?: string | object,
    options?: NchfCallOptions,
  ): Promise<NchfReply<unknown>>;
  /** Closes the connection once the streams in flight are done. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** The ChargingDataRef at the end of a Location header (absolute or relative). */
export function refFromLocation(location: string | undefined): string | undefined {
  if (location === undefined) return undefined;
  const at = location.lastIndexOf('/chargingdata/');
  if (at < 0) return undefined;
  const ref = location.slice(at + '/chargingdata/'.length);
  return ref === '' || ref.includes('/') ? undefined : ref;
}

export function createNchfClient(options: NchfClientOptions): NchfClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const collection = `${(options.pathPrefix ?? '').replace(/\/+$/, '')}${NCHF_BASE_PATH}/chargingdata`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let session: ClientHttp2Session | undefined;

  function currentSession(): ClientHttp2Session {
    if (session === undefined || session.closed || session.destroyed) {
      const opened = connect(baseUrl);
      // Errors reach each stream in flight; the session's own error must not crash the process.
      opened.on('error', () => undefined);
      opened.once('close', () => {
        if (session === opened) session = undefined;
      });
      session = opened;
    }
    return session;
  }

  function call<Body>(
    method: string,
    path: string,
    body: string | object | undefined,
    callOptions: NchfCallOptions = {},
  ): Promise<NchfReply<Body>> {
    const headers: OutgoingHttpHeaders = { ':method': method, ':path': path };
    const token = callOptions.token === undefined ? options.token : callOptions.token;
    if (token !== undefined && token !== null) headers.authorization = `Bearer ${token}`;
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (callOptions.headers !== undefined) Object.assign(headers, callOptions.headers);

    return new Promise<NchfReply<Body>>((resolve, reject) => {
      const stream = currentSession().request(headers, { endStream: payload === undefined });
      let responseHeaders: IncomingHttpHeaders | undefined;
      let settled = false;
      const chunks: Buffer[] = [];
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      stream.setTimeout(timeoutMs, () => {
        fail(new Error(`no response to ${method} ${path} within ${timeoutMs} ms`));
        stream.close(http2Constants.NGHTTP2_CANCEL);
      });
      stream.on('response', (received) => (responseHeaders = received));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', fail);
      // A stream reset or a connection lost before the end of the response.
      stream.on('close', () =>
        fail(new Error(`${method} ${path}: the stream closed (code ${stream.rstCode}) before a response`)),
      );
      stream.on('end', () => {
        if (responseHeaders === undefined) return;
        settled = true;
        const text = Buffer.concat(chunks).toString('utf8');
        const contentType = String(responseHeaders['content-type'] ?? '');
        let parsed: Body | undefined;
        if (text !== '' && /json/i.test(contentType)) {
          try {
            parsed = JSON.parse(text) as Body;
          } catch {
            parsed = undefined;
          }
        }
        resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: parsed, text });
      });
      if (payload !== undefined) stream.end(payload);
    });
  }

  return {
    create: (request, callOptions) => call('POST', collection, request, callOptions),
    update: (ref, request, callOptions) => call('POST', `${collection}/${ref}/update`, request, callOptions),
    release: (ref, request, callOptions) =>
      call('POST', `${collection}/${ref}/release`, request, callOptions),
    request: (method, path, body, callOptions) => call(method, path, body, callOptions),
    close(): Promise<void> {
      const open = session;
      session = undefined;
      if (open === undefined || open.closed || open.destroyed) return Promise.resolve();
      return new Promise<void>((resolve) => open.close(() => resolve()));
    },
  };
}
