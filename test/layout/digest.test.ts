// Block digests from the block-io addon: the same XXH64 as an independent implementation for every
// length around its 32-byte stripes and 8/4/1-byte tails, for views at odd offsets, for large and
// concurrent inputs (digested in the thread pool), from both of its digest calls; and the errors of
// its argument checks.

import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { blockIo } from '../../src/block-io.js';
import { blockDigest } from '../../src/layout/digest.js';
import { referenceDigest } from '../helpers/reference-digest.js';

const source = randomBytes(5 * 1024 * 1024);

test('every length from 0 to 300 bytes, at an odd offset, digests as the reference does', async () => {
  for (let length = 0; length <= 300; length++) {
    const view = source.subarray(7 + length, 7 + 2 * length);
    assert.is(await blockDigest(view), await referenceDigest(view), `length ${length}`);
  }
});

test('large inputs (a whole 4 MiB block, and random sizes up to 5 MiB) digest as the reference does', async () => {
  const lengths = [4 * 1024 * 1024, 4 * 1024 * 1024 - 1, 1024 * 1024 + 3, ...Array.from({ length: 20 }, () => Math.floor(Math.random() * (5 * 1024 * 1024 - 64)))];
  for (const length of lengths) {
    const view = source.subarray(source.length - length);
    const expected = await referenceDigest(view);
    assert.is(await blockDigest(view), expected, `length ${length}`);
    assert.is(blockIo().digest(view), expected, `length ${length}, on this thread`);
  }
});

test('concurrent digests each get their own input\'s digest', async () => {
  const inputs = Array.from({ length: 32 }, (_, i) => source.subarray(i * 1000, i * 1000 + 1024 * 1024 + i));
  const digests = await Promise.all(inputs.map((input) => blockDigest(input)));
  for (let i = 0; i < inputs.length; i++) assert.is(digests[i], await referenceDigest(inputs[i]!), `input ${i}`);
  assert.is(new Set(digests).size, inputs.length, 'different inputs, different digests');
});

test('the addon refuses what is not a byte array, and a missing callback, with a TypeError', () => {
  const addon = blockIo();
  assert.throws(() => addon.digest('text' as unknown as Uint8Array), (err: Error) => err instanceof TypeError && /Buffer or Uint8Array/.test(err.message));
  assert.throws(() => addon.digestAsync('text' as unknown as Uint8Array, () => undefined), (err: Error) => err instanceof TypeError && /Buffer or Uint8Array/.test(err.message));
  assert.throws(() => addon.digestAsync(new Uint16Array(4) as unknown as Uint8Array, () => undefined), (err: Error) => err instanceof TypeError);
  assert.throws(() => addon.digestAsync(Buffer.alloc(4), undefined as unknown as () => void), (err: Error) => err instanceof TypeError && /callback/.test(err.message));
  assert.throws(() => addon.readObject(42 as unknown as string, Buffer.alloc(4), () => undefined), (err: Error) => err instanceof TypeError && /path/.test(err.message));
});

test.run();
