// What only the S3 backend promises: clear errors for bad credentials and missing buckets, a key
// prefix that stays out of listed keys, and deletes that still work where DeleteObjects does not.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openObjectStore } from '../../src/object/open.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../src/object/s3.js';
import type { ObjectStore } from '../../src/object/store.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { expectError } from './expect.js';
import { startProxy } from './proxy.js';

const FAST = { attempts: 3, baseDelayMs: 1, maxDelayMs: 10 };

const test = suite<{ s3rver?: RunningS3rver; stores: ObjectStore[] }>('S3 backend', { stores: [] });
test.before(async (ctx) => {
  ctx.s3rver = await startS3rver();
});
test.after(async (ctx) => {
  await ctx.s3rver?.stop();
});
test.after.each(async (ctx) => {
  await Promise.all(ctx.stores.splice(0).map((store) => store.close()));
});

function open(ctx: { s3rver?: RunningS3rver; stores: ObjectStore[] }, options: Partial<S3ObjectStoreOptions> = {}) {
  const store = new S3ObjectStore({
    bucket: ctx.s3rver!.bucket,
    endpoint: ctx.s3rver!.endpoint,
    forcePathStyle: true,
    credentials: ctx.s3rver!.credentials,
    retry: FAST,
    ...options,
  });
  ctx.stores.push(store);
  return store;
}

test('a wrong access key fails with EACCES saying authentication failed, with bucket and endpoint', async (ctx) => {
  const store = open(ctx, { credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'whatever' } });
  const mentions = ['authentication failed', ctx.s3rver!.bucket, ctx.s3rver!.endpoint, 'InvalidAccessKeyId'];
  await expectError(store.put('k', Buffer.from('x')), 'EACCES', ...mentions);
  await expectError(store.get('k'), 'EACCES', ...mentions);
  await expectError(store.head('k'), 'EACCES', 'authentication failed', ctx.s3rver!.endpoint);
});

test('a bucket that does not exist is named in the error of every operation', async (ctx) => {
  const store = open(ctx, { bucket: 'no-such-bucket' });
  const message = `bucket no-such-bucket does not exist at endpoint ${ctx.s3rver!.endpoint}`;
  await expectError(store.put('k', Buffer.from('x')), 'EINVAL', message);
  await expectError(store.get('k'), 'EINVAL', message);
  await expectError(store.head('k'), 'EINVAL', message);
  await expectError(store.delete(['k']), 'EINVAL', message);
  await expectError((async () => { for await (const _ of store.list('')) break; })(), 'EINVAL', message);
});

test('the key prefix places objects under it and is stripped from listed keys', async (ctx) => {
  const prefixed = open(ctx, { prefix: 'strata/' });
  const whole = open(ctx);
  await prefixed.put('blocks/1', Buffer.from('one'));
  assert.equal(await whole.head('strata/blocks/1'), { key: 'strata/blocks/1', sizeBytes: 3 });
  assert.is(await whole.head('blocks/1'), null);
  const listed = [];
  for await (const info of prefixed.list('blocks/')) listed.push(info);
  assert.equal(listed, [{ key: 'blocks/1', sizeBytes: 3 }]);
  assert.is(prefixed.description, `s3:${ctx.s3rver!.endpoint}/${ctx.s3rver!.bucket}/strata/`);
});

test('where DeleteObjects is not implemented, delete falls back to one request per key', async (ctx) => {
  const proxy = await startProxy(ctx.s3rver!.endpoint, (req) =>
    req.method === 'POST' && req.url!.includes('delete') ? { status: 501, code: 'NotImplemented' } : 'forward');
  try {
    const store = open(ctx, { endpoint: proxy.endpoint, prefix: 'fallback/' });
    for (const key of ['a', 'b', 'c']) await store.put(key, Buffer.from(key));
    await store.delete(['a', 'b', 'missing']);
    await store.delete(['c']);
    assert.is(await store.head('a'), null);
    assert.is(await store.head('c'), null);
    const methods = proxy.seen.filter((s) => s.method === 'POST' || s.method === 'DELETE').map((s) => s.method);
    assert.equal(methods, ['POST', 'DELETE', 'DELETE', 'DELETE', 'DELETE'], 'DeleteObjects tried once only');
  } finally {
    await proxy.close();
  }
});

test('openObjectStore turns rustfs and minio configurations into working stores', async (ctx) => {
  for (const backend of ['rustfs', 'minio'] as const) {
    const store = openObjectStore({
      backend, bucket: ctx.s3rver!.bucket, endpoint: ctx.s3rver!.endpoint, credentials: ctx.s3rver!.credentials,
      prefix: `${backend}/`,
    });
    ctx.stores.push(store);
    await store.put('k', Buffer.from(backend));
    assert.is((await store.get('k')).toString(), backend);
  }
});

test.run();
