// A small HTTP proxy in front of s3rver that can answer a request with an S3 error or cut its
// response short, so tests can watch how the S3 backend copes with a misbehaving server.

import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request. */
export type Verdict = 'forward' | 'truncate' | { status: number; code: string };

export interface Proxy {
  endpoint: string;
  /** Every request seen, in order, with what the proxy did. */
  seen: { method: string; url: string; verdict: Verdict }[];
  close(): Promise<void>;
}

function errorXml(code: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the test proxy</Message><RequestId>proxy</RequestId></Error>`;
}

export async function startProxy(target: string, decide: (req: IncomingMessage) => Verdict): Promise<Proxy> {
  const seen: Proxy['seen'] = [];
  const upstreamAgent = new Agent({ keepAlive: false });
  const server = createServer((req, res) => {
    const verdict = decide(req);
    seen.push({ method: req.method!, url: req.url!, verdict });
    if (typeof verdict === 'object') {
      req.resume();
      req.on('end', () => {
        res.writeHead(verdict.status, { 'content-type': 'application/xml' });
        res.end(req.method === 'HEAD' ? undefined : errorXml(verdict.code));
      });
      return;
    }
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers, agent: upstreamAgent }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      if (verdict === 'forward') {
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (chunk: Buffer) => chunks.push(chunk));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
      upstreamAgent.destroy();
    },
  };
}
