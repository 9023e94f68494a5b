// The S3 backend's object GETs and PUTs without the SDK (src/object/s3-direct.ts, http1.ts,
// sigv4.ts), against a scripted HTTP server on 127.0.0.1 that answers the way real servers and
// broken networks do: in small pieces, over kept-alive connections it may close, with
// Connection: close, chunked framing (which sends the request again through the SDK), an interim
// 100 Continue, bodies cut short and S3 errors. That the signatures are right is proven against
// s3rver and Ceph RGW, which check them (test/object/store.test.ts, s3.test.ts).

import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { S3ObjectStore } from '../../src/object/s3.js';
import { expectError } from './expect.js';

interface Seen {
  /** which connection, counting from 0 */
  connection: number;
  /** which request on that connection, counting from 0 */
  onConnection: number;
  head: string;
  body: Buffer;
}

interface ScriptedServer {
  endpoint: string;
  seen: Seen[];
  connections: number;
  close(): Promise<void>;
}

type Answer = (seen: Seen, socket: Socket) => void | Promise<void>;

async function startScripted(answer: Answer): Promise<ScriptedServer> {
  const sockets = new Set<Socket>();
  const state: ScriptedServer = { endpoint: '', seen: [], connections: 0, close: async () => undefined };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const connection = state.connections++;
    let onConnection = 0;
    let pending = Buffer.alloc(0);
    socket.on('data', (data) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.toString('latin1', 0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const seen = { connection, onConnection: onConnection++, head, body: pending.subarray(end + 4, end + 4 + length) };
        pending = pending.subarray(end + 4 + length);
        state.seen.push(seen);
        void answer(seen, socket);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
  };
  return state;
}

function head(status: string, headers: Record<string, string | number>): string {
  return `HTTP/1.1 ${status}\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

const test = suite<{ server?: ScriptedServer; store?: S3ObjectStore }>('S3 GET and PUT without the SDK');
test.after.each(async (ctx) => {
  await ctx.store?.close();
  await ctx.server?.close();
  ctx.store = undefined;
  ctx.server = undefined;
});

async function serve(ctx: { server?: ScriptedServer; store?: S3ObjectStore }, answer: Answer, attempts = 1): Promise<S3ObjectStore> {
  ctx.server = await startScripted(answer);
  ctx.store = new S3ObjectStore({
    bucket: 'bucket',
    endpoint: ctx.server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'key', secretAccessKey: 'secret' },
    retry: { attempts, baseDelayMs: 1, maxDelayMs: 5 },
  });
  return ctx.store;
}

test('a body sent in small pieces, its head split in two, lands whole in the buffer given', async (ctx) => {
  const body = randomBytes(50_000);
  const store = await serve(ctx, async (_seen, socket) => {
    const text = head('200 OK', { 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' });
    socket.write(text.slice(0, 20));
    await tick();
    socket.write(text.slice(20));
    for (let at = 0; at < body.length; at += 7_000) {
      await tick();
      socket.write(body.subarray(at, at + 7_000));
    }
  });
  const into = Buffer.alloc(64 * 1024);
  const read = await store.get('blocks/a', undefined, into);
  assert.ok(read.equals(body));
  assert.is(read.buffer, into.buffer, 'read into the buffer given');
  assert.match(ctx.server!.seen[0]!.head, /^GET \/bucket\/blocks\/a HTTP\/1\.1\r\n/);
  assert.match(ctx.server!.seen[0]!.head, /\r\nauthorization: AWS4-HMAC-SHA256 Credential=key\/\d{8}\/us-east-1\/s3\/aws4_request, /i, 'signed');
});

test('a put sends the body once, signed, with its length; an error answer is an S3 error', async (ctx) => {
  const store = await serve(ctx, (seen, socket) => {
    const refused = seen.head.includes('/refused');
    const text = refused ? '<Error><Code>AccessDenied</Code><Message>scripted</Message></Error>' : '';
    socket.write(head(refused ? '403 Forbidden' : '200 OK', { 'Content-Length': text.length, ETag: '"x"' }) + text);
  });
  const body = randomBytes(300_000);
  await store.put('blocks/p q', body);
  const seen = ctx.server!.seen[0]!;
  assert.match(seen.head, /^PUT \/bucket\/blocks\/p%20q HTTP\/1\.1\r\n/, 'the key escaped');
  assert.match(seen.head, /\r\ncontent-length: 300000(\r\n|$)/i);
  assert.match(seen.head, /\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD(\r\n|$)/i);
  assert.ok(seen.body.equals(body), 'the body');
  await expectError(store.put('blocks/refused', body), 'EACCES', 'blocks/refused');
  assert.is(ctx.server!.connections, 1, 'both on one connection');
});

test('gets one after another share one kept-alive connection', async (ctx) => {
  const store = await serve(ctx, (seen, socket) => {
    socket.write(head('200 OK', { 'Content-Length': 5 }) + `body${seen.onConnection}`);
  });
  const into = Buffer.alloc(1024);
  for (let i = 0; i < 3; i++) assert.is((await store.get('k', undefined, into)).toString(), `body${i}`);
  assert.is(ctx.server!.connections, 1);
});

test('a kept-alive connection the server closes without answering is replaced, and the get succeeds', async (ctx) => {
  const store = await serve(ctx, (seen, socket) => {
    if (seen.connection === 0 && seen.onConnection === 1) socket.destroy();
    else socket.write(head('200 OK', { 'Content-Length': 2 }) + 'ok');
  });
  const into = Buffer.alloc(1024);
  assert.is((await store.get('k', undefined, into)).toString(), 'ok');
  // No retries are configured: the second get needs the reader to replace the dead connection itself.
  assert.is((await store.get('k', undefined, into)).toString(), 'ok');
  assert.is(ctx.server!.connections, 2);
});

test('Connection: close is honoured: the next get opens a new connection', async (ctx) => {
  // The server leaves the socket open: only the header tells the client not to reuse it.
  const store = await serve(ctx, (_seen, socket) => {
    socket.write(head('200 OK', { 'Content-Length': 2, Connection: 'close' }) + 'ok');
  });
  const into = Buffer.alloc(1024);
  assert.is((await store.get('k', undefined, into)).toString(), 'ok');
  assert.is((await store.get('k', undefined, into)).toString(), 'ok');
  assert.is(ctx.server!.connections, 2);
  assert.equal(ctx.server!.seen.map((seen) => seen.onConnection), [0, 0]);
});

test('more gets at once than the 64 connections allowed wait for a free one, not for one to close', async (ctx) => {
  const store = await serve(ctx, (_seen, socket) => {
    setTimeout(() => socket.write(head('200 OK', { 'Content-Length': 2 }) + 'ok'), 20);
  });
  const started = performance.now();
  const reads = await Promise.all(Array.from({ length: 150 }, () => store.get('k', undefined, Buffer.alloc(16))));
  assert.ok(reads.every((read) => read.toString() === 'ok'));
  assert.is(ctx.server!.connections, 64);
  // A waiter woken only when a connection closes would wait out the 4 s idle timeout.
  assert.ok(performance.now() - started < 3_000, `took ${Math.round(performance.now() - started)} ms`);
});

test('a body cut short fails as a network error saying how much came, and a retry reads it whole', async (ctx) => {
  const body = randomBytes(10_000);
  const answer: Answer = (_seen, socket) => {
    socket.write(head('200 OK', { 'Content-Length': body.length }));
    if (ctx.server!.seen.length === 1) socket.end(body.subarray(0, 5_000));
    else socket.write(body);
  };
  const into = Buffer.alloc(64 * 1024);
  const once = await serve(ctx, answer);
  await expectError(once.get('blocks/cut', undefined, into), 'EIO', 'blocks/cut', 'after 5000 of 10000 body bytes');
  await once.close();
  await ctx.server!.close();
  const retrying = await serve(ctx, answer, 3);
  assert.ok((await retrying.get('blocks/cut', undefined, into)).equals(body));
  assert.is(ctx.server!.seen.length, 2);
});

test('a chunked answer is decoded, its size lines and trailers split across reads', async (ctx) => {
  const body = randomBytes(20_000);
  const wire = Buffer.concat([
    Buffer.from(head('200 OK', { 'Transfer-Encoding': 'chunked' })),
    Buffer.from('4e20;name=value\r\n'), body.subarray(0, 20_000), Buffer.from('\r\n'),
    Buffer.from('0\r\nx-trailer: yes\r\n\r\n'),
  ]);
  const store = await serve(ctx, async (seen, socket) => {
    if (seen.onConnection === 0) {
      for (let at = 0; at < wire.length; at += 997) {
        socket.write(wire.subarray(at, at + 997));
        await tick();
      }
    } else {
      socket.write(head('200 OK', { 'Transfer-Encoding': 'chunked' }) + '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    }
  });
  const into = Buffer.alloc(64 * 1024);
  const read = await store.get('k', undefined, into);
  assert.ok(read.equals(body));
  assert.is(read.buffer, into.buffer, 'decoded into the buffer given');
  assert.is((await store.get('k', undefined, into)).toString(), 'hello world', 'the connection is reused after it');
  assert.is(ctx.server!.connections, 1);
});

test('an answer that ends only when the connection closes is asked again through the SDK', async (ctx) => {
  const store = await serve(ctx, (_seen, socket) => {
    socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello');
  });
  assert.is((await store.get('k', undefined, Buffer.alloc(1024))).toString(), 'hello');
  assert.is(ctx.server!.seen.length, 2, 'asked again through the SDK');
  assert.match(ctx.server!.seen[1]!.head, /\?x-id=GetObject /, 'the SDK marks its requests');
});

test('an interim 100 Continue before the answer is skipped', async (ctx) => {
  const store = await serve(ctx, (_seen, socket) => {
    socket.write('HTTP/1.1 100 Continue\r\n\r\n' + head('200 OK', { 'Content-Length': 3 }) + 'abc');
  });
  assert.is((await store.get('k', undefined, Buffer.alloc(1024))).toString(), 'abc');
});

test('S3 errors keep their meaning: NoSuchKey is ENOENT, SlowDown is retried', async (ctx) => {
  const xml = (code: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>scripted</Message></Error>`;
  const store = await serve(ctx, (seen, socket) => {
    const [status, text] = seen.head.includes('/missing') ? ['404 Not Found', xml('NoSuchKey')]
      : ctx.server!.seen.length === 2 ? ['503 Slow Down', xml('SlowDown')]
      : ['200 OK', 'fine'];
    socket.write(head(status, { 'Content-Length': Buffer.byteLength(text), 'Content-Type': 'application/xml' }) + text);
  }, 3);
  const into = Buffer.alloc(1024, 0xee);
  await expectError(store.get('blocks/missing', undefined, into), 'ENOENT', 'blocks/missing');
  assert.is((await store.get('blocks/slow', undefined, into)).toString(), 'fine');
  assert.is(ctx.server!.seen.length, 3);
});

test.run();
