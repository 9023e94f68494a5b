// A fault-injecting S3 proxy on 127.0.0.1, between a mount (or any S3 client) and s3rver. Each
// request is classified by kind (put, get, head, list, delete) and the first matching rule may
// delay it, drop its connection without an answer, answer an S3 error (500, 503, SlowDown), cut
// the response body short, corrupt the body's bytes (length kept), or forward the request and
// lose its answer (the store did it; the client cannot know). Rules can be changed while
// requests flow, so a test can start and end an outage.
//
// To keep "transient" faults transient, a rule may fault the same request (method + URL) at most
// `maxInARow` times in a row: the backend's retries (6 tries) then always get through.

import { once } from 'node:events';
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from './crash-journal.js';

export type RequestKind = 'put' | 'get' | 'head' | 'list' | 'delete' | 'other';
export const REQUEST_KINDS: RequestKind[] = ['put', 'get', 'head', 'list', 'delete', 'other'];

export type Fault =
  | { type: 'delay'; ms: number }
  | { type: 'drop' }
  /** forward the request, then drop the connection instead of answering: it happened, the client cannot know */
  | { type: 'lose-answer' }
  | { type: 'error'; status: number; code: string }
  | { type: 'truncate' }
  | { type: 'corrupt' };

export const SLOW_DOWN: Fault = { type: 'error', status: 503, code: 'SlowDown' };
export const UNAVAILABLE: Fault = { type: 'error', status: 503, code: 'ServiceUnavailable' };
export const INTERNAL: Fault = { type: 'error', status: 500, code: 'InternalError' };

export interface FaultRule {
  /** the kinds of request it applies to; all when absent */
  kinds?: RequestKind[];
  /** only requests whose object key matches */
  key?: RegExp;
  fault: Fault;
  /** chance that a matching request is faulted (1 when absent) */
  probability?: number;
  /** fault one request (method + URL) at most this many times in a row */
  maxInARow?: number;
}

export interface FaultCounts {
  seen: Record<RequestKind, number>;
  /** "<kind> <fault>" -> count, e.g. "put SlowDown" */
  injected: Record<string, number>;
}

export interface FaultProxy {
  endpoint: string;
  setRules(rules: FaultRule[]): void;
  counts(): FaultCounts;
  resetCounts(): void;
  close(): Promise<void>;
}

/** What kind of S3 call a path-style request is: /bucket/key..., /bucket?list-type=2, POST /bucket?delete. */
export function classify(method: string, url: string): { kind: RequestKind; key: string } {
  const [path = '', query = ''] = url.split('?', 2);
  const parts = path.split('/').filter(Boolean);
  const key = decodeURIComponent(parts.slice(1).join('/'));
  const params = new URLSearchParams(query);
  if (method === 'POST' && params.has('delete')) return { kind: 'delete', key };
  if (method === 'DELETE') return { kind: 'delete', key };
  if (method === 'PUT' && key) return { kind: 'put', key };
  if (method === 'HEAD' && key) return { kind: 'head', key };
  if (method === 'GET' && !key) return { kind: 'list', key };
  if (method === 'GET') return { kind: 'get', key };
  return { kind: 'other', key };
}

function faultName(fault: Fault): string {
  return fault.type === 'error' ? fault.code : fault.type;
}

function errorXml(code: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the fault proxy</Message><RequestId>fault-proxy</RequestId></Error>`;
}

export async function startFaultProxy(target: string, options: { seed?: number } = {}): Promise<FaultProxy> {
  const random = seededRandom(options.seed ?? 1);
  let rules: FaultRule[] = [];
  const inARow = new Map<string, number>();
  const fresh = (): FaultCounts => ({ seen: Object.fromEntries(REQUEST_KINDS.map((k) => [k, 0])) as Record<RequestKind, number>, injected: {} });
  let counts = fresh();
  const upstreamAgent = new Agent({ keepAlive: false });
  const sockets = new Set<Socket>();

  const choose = (req: IncomingMessage): { kind: RequestKind; fault?: Fault } => {
    const { kind, key } = classify(req.method!, req.url!);
    counts.seen[kind]++;
    const id = `${req.method} ${req.url}`;
    for (const rule of rules) {
      if (rule.kinds && !rule.kinds.includes(kind)) continue;
      if (rule.key && !rule.key.test(key)) continue;
      if (rule.probability !== undefined && random() >= rule.probability) continue;
      const streak = inARow.get(id) ?? 0;
      if (rule.maxInARow !== undefined && streak >= rule.maxInARow) continue;
      inARow.set(id, streak + 1);
      const name = `${kind} ${faultName(rule.fault)}`;
      counts.injected[name] = (counts.injected[name] ?? 0) + 1;
      return { kind, fault: rule.fault };
    }
    inARow.delete(id);
    return { kind };
  };

  const server = createServer(async (req, res) => {
    const { fault } = choose(req);
    if (fault?.type === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.type === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.type === 'error') {
      req.resume();
      req.on('end', () => {
        res.writeHead(fault.status, { 'content-type': 'application/xml' });
        res.end(req.method === 'HEAD' ? undefined : errorXml(fault.code));
      });
      return;
    }
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers, agent: upstreamAgent }, (up) => {
      if (fault?.type === 'lose-answer') {
        up.resume();
        up.on('end', () => res.socket?.destroy());
        return;
      }
      if (fault?.type !== 'truncate' && fault?.type !== 'corrupt') {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (chunk: Buffer) => chunks.push(chunk));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(up.statusCode!, up.headers);
        if (fault.type === 'truncate') {
          res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
          return;
        }
        const bent = Buffer.from(body);
        for (let i = 0; i < bent.length; i += 4099) bent[i] = bent[i]! ^ 0x5a;
        res.end(bent);
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setRules(next) {
      rules = next;
      inARow.clear();
    },
    counts: () => counts,
    resetCounts() {
      counts = fresh();
    },
    async close() {
      rules = [];
      for (const socket of sockets) socket.destroy();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      upstreamAgent.destroy();
    },
  };
}
