/**
 * Ways for the charging benches to POST Nchf requests over HTTP/2 with a bearer key: the lean
 * client of ./h2-client.ts, or node:http2's client (to compare their cost).
 */
import { connect, type ClientHttp2Session } from 'node:http2';
import { H2Connection } from './h2-client.js';

export interface Poster {
  post(path: string, body: string): Promise<{ status: number; location: string | undefined }>;
  close(): Promise<void>;
}

export function leanPoster(port: number, key: string): Promise<Poster> {
  return H2Connection.connect({
    port,
    headers: [
      ['content-type', 'application/json'],
      ['authorization', `Bearer ${key}`],
    ],
  });
}

export function nodePoster(port: number, key: string): Poster {
  const session: ClientHttp2Session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return {
    post: (path, body) =>
      new Promise((resolve, reject) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/json',
          authorization: `Bearer ${key}`,
        });
        let status = 0;
        let location: string | undefined;
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
          location = headers.location as string | undefined;
        });
        stream.on('data', () => undefined);
        stream.on('end', () => resolve({ status, location }));
        stream.on('error', reject);
        stream.end(body);
      }),
    close: () => new Promise((resolve) => session.close(() => resolve())),
  };
}
