// Retries: withRetry on its own, then the S3 backend behind a proxy that throttles, fails or cuts
// responses short, counting what actually reached the wire.

import { createServer } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { withRetry } from '../../src/object/retry.js';
import { S3ObjectStore } from '../../src/object/s3.js';
import type { RetryPolicy } from '../../src/object/retry.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { expectError } from './expect.js';
import { startProxy, type Proxy, type Verdict } from './proxy.js';

const FAST: RetryPolicy = { attempts: 6, baseDelayMs: 1, maxDelayMs: 10 };
const SLOW_DOWN: Verdict = { status: 503, code: 'SlowDown' };

const unit = suite('withRetry');

unit('retries a retryable failure until it succeeds and returns the result', async () => {
  let calls = 0;
  const result = await withRetry(async () => {
    if (++calls < 3) throw new Error('transient');
    return 'done';
  }, { ...FAST, isRetryable: () => true });
  assert.is(result, 'done');
  assert.is(calls, 3);
});

unit('gives up after the configured attempts with the last error', async () => {
  let calls = 0;
  const failing = withRetry(async () => {
    throw new Error(`failure ${++calls}`);
  }, { ...FAST, attempts: 4, isRetryable: () => true });
  await failing.then(() => assert.unreachable(), (err: Error) => assert.is(err.message, 'failure 4'));
  assert.is(calls, 4);
});

unit('a non-retryable failure is thrown at once', async () => {
  let calls = 0;
  const failing = withRetry(async () => {
    calls++;
    throw new Error('permanent');
  }, { ...FAST, isRetryable: () => false });
  await failing.then(() => assert.unreachable(), (err: Error) => assert.is(err.message, 'permanent'));
  assert.is(calls, 1);
});

unit.run();

interface Ctx {
  s3rver?: RunningS3rver;
  proxy?: Proxy;
  store?: S3ObjectStore;
  /** the verdicts the proxy hands out next, in order; then it forwards */
  script: Verdict[];
}

const s3 = suite<Ctx>('S3 backend retries', { script: [] });
s3.before(async (ctx) => {
  ctx.s3rver = await startS3rver();
});
s3.after(async (ctx) => {
  await ctx.s3rver?.stop();
});
s3.before.each(async (ctx) => {
  ctx.script = [];
  ctx.proxy = await startProxy(ctx.s3rver!.endpoint, () => ctx.script.shift() ?? 'forward');
  ctx.store = storeAt(ctx.s3rver!, ctx.proxy.endpoint, FAST);
});
s3.after.each(async (ctx) => {
  await ctx.store?.close();
  await ctx.proxy?.close();
});

function storeAt(s3rver: RunningS3rver, endpoint: string, retry: Partial<RetryPolicy>): S3ObjectStore {
  return new S3ObjectStore({
    bucket: s3rver.bucket, endpoint, forcePathStyle: true, credentials: s3rver.credentials, retry,
  });
}

s3('throttled requests (503 SlowDown) are retried until they succeed', async (ctx) => {
  const body = randomBytes(10_000);
  ctx.script.push(SLOW_DOWN, SLOW_DOWN);
  await ctx.store!.put('throttled', body);
  ctx.script.push(SLOW_DOWN, { status: 500, code: 'InternalError' });
  assert.ok((await ctx.store!.get('throttled')).equals(body));
  const verdicts = ctx.proxy!.seen.map((s) => `${s.method} ${typeof s.verdict === 'object' ? s.verdict.status : s.verdict}`);
  assert.equal(verdicts, ['PUT 503', 'PUT 503', 'PUT forward', 'GET 503', 'GET 500', 'GET forward']);
});

s3('a server that keeps answering 503 fails the operation with EIO after the configured attempts', async (ctx) => {
  await ctx.store!.close();
  ctx.store = storeAt(ctx.s3rver!, ctx.proxy!.endpoint, { ...FAST, attempts: 3 });
  ctx.script.push(...Array<Verdict>(10).fill(SLOW_DOWN));
  await expectError(ctx.store.put('always-busy', Buffer.from('x')), 'EIO', 'always-busy', ctx.proxy!.endpoint, '3 attempts', 'SlowDown');
  assert.is(ctx.proxy!.seen.length, 3);
});

s3('a missing key and other client errors are not retried', async (ctx) => {
  await expectError(ctx.store!.get('absent'), 'ENOENT', 'absent');
  assert.is(ctx.proxy!.seen.length, 1);
  ctx.script.push({ status: 400, code: 'InvalidArgument' });
  await expectError(ctx.store!.put('bad-request', Buffer.from('x')), 'EIO', 'bad-request', 'InvalidArgument');
  assert.is(ctx.proxy!.seen.length, 2);
});

s3('a response body cut short is retried and never returned short', async (ctx) => {
  const body = randomBytes(100_000);
  await ctx.store!.put('cut', body);
  ctx.script.push('truncate', 'truncate');
  assert.ok((await ctx.store!.get('cut')).equals(body), 'the third try reads it whole');
  ctx.script.push(...Array<Verdict>(10).fill('truncate'));
  await expectError(ctx.store!.get('cut', { offset: 10, length: 50_000 }), 'EIO', 'cut', `${FAST.attempts} attempts`);
  assert.is(ctx.proxy!.seen.length, 1 + 3 + FAST.attempts);
});

s3('a refused connection fails with EIO naming the endpoint and key after the attempts', async (ctx) => {
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  const store = storeAt(ctx.s3rver!, endpoint, { ...FAST, attempts: 2 });
  try {
    await expectError(store.get('blocks/1'), 'EIO', endpoint, 'blocks/1', '2 attempts', 'ECONNREFUSED');
  } finally {
    await store.close();
  }
});

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

s3.run();
