// MeteredObjectStore: every request is timed and counted by operation; a failure is counted and
// carries the object key, which objectKeyOf finds through causes and messages.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IOError, NotFound } from '../../src/errors.js';
import { metricsText } from '../../src/metrics.js';
import { MeteredObjectStore, objectKeyOf } from '../../src/object/metered.js';
import type { ObjectInfo, ObjectStore } from '../../src/object/store.js';

const test = suite('metered object store');

class MapStore implements ObjectStore {
  readonly description = 'map:';
  readonly objects = new Map<string, Buffer>();
  async put(key: string, body: Uint8Array) {
    this.objects.set(key, Buffer.from(body));
  }
  async persist() {}
  async get(key: string) {
    const bytes = this.objects.get(key);
    if (!bytes) throw NotFound(`object ${key} not found`);
    return bytes;
  }
  async head(key: string) {
    const bytes = this.objects.get(key);
    return bytes ? { key, sizeBytes: bytes.length } : null;
  }
  async delete(keys: string[]) {
    for (const key of keys) this.objects.delete(key);
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const [key, bytes] of this.objects) if (key.startsWith(prefix)) yield { key, sizeBytes: bytes.length };
  }
  async close() {}
}

function sample(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

test('requests are timed by operation, with bytes, failures and deleted objects counted', async () => {
  const before = await metricsText();
  const store = new MeteredObjectStore(new MapStore());
  await store.put('blocks/v/1/1/0/0', Buffer.alloc(1000));
  await store.get('blocks/v/1/1/0/0');
  await store.get('blocks/v/1/1/0/9').catch(() => undefined);
  for await (const _ of store.list('blocks/')) void _;
  await store.delete(['blocks/v/1/1/0/0']);
  const after = await metricsText();
  const delta = (line: string) => sample(after, line) - sample(before, line);
  assert.is(delta('strata_object_request_duration_seconds_count{op="put"}'), 1);
  assert.is(delta('strata_object_request_duration_seconds_count{op="get"}'), 2);
  assert.is(delta('strata_object_request_duration_seconds_count{op="list"}'), 1);
  assert.is(delta('strata_object_request_errors_total{op="get"}'), 1);
  assert.is(delta('strata_object_bytes_total{op="put"}'), 1000);
  assert.is(delta('strata_object_bytes_total{op="get"}'), 1000);
  assert.is(delta('strata_gc_reclaimed_objects_total'), 1);
});

test('a failed request carries its object key, found through causes and in messages', async () => {
  const store = new MeteredObjectStore(new MapStore());
  const err = await store.get('blocks/v/7/2/0/3').catch((e: unknown) => e);
  assert.is(objectKeyOf(err), 'blocks/v/7/2/0/3');
  assert.is(objectKeyOf(IOError('reading failed', err)), 'blocks/v/7/2/0/3');
  assert.is(objectKeyOf(IOError('checksum mismatch for object blocks/v/9/1/0/0: expected xxh64:1')), 'blocks/v/9/1/0/0');
  assert.is(objectKeyOf(new Error('nothing here')), undefined);
});

test.run();
