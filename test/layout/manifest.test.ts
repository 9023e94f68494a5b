// The overlay rule of chunk manifests against a byte-by-byte model: for every byte, the topmost
// entry covering it is its source, and bytes no entry covers are holes. Plus the helpers built on
// it (shadowed entries, clipping, normalizing) and the object key format.

import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { clipEntries, normalizeManifest, overlay, shadowedEntries, type BlockEntry } from '../../src/layout/manifest.js';
import { blockObjectKey, parseBlockObjectKey } from '../../src/layout/object-keys.js';

const SPAN = 200;
/** Fixed, so `npm test` is deterministic; failures print the seed and path to replay. */
const SEED = 424242;

const entriesArb = fc.array(
  fc.record({ logicalOffset: fc.integer({ min: 0, max: SPAN - 1 }), len: fc.integer({ min: 1, max: 80 }), objectOffset: fc.integer({ min: 0, max: 50 }) }),
  { maxLength: 12 },
).map((raw) => raw.map((e, i): BlockEntry => ({ ...e, objectKey: `k${i}`, digestUri: `xxh64:${i}` })));

/** For each byte in [start, end): "key@objectOffset" of the topmost entry covering it, or null. */
function modelSources(entries: BlockEntry[], start: number, end: number): Array<string | null> {
  const out: Array<string | null> = [];
  for (let at = start; at < end; at++) {
    let source: string | null = null;
    for (const e of entries) if (at >= e.logicalOffset && at < e.logicalOffset + e.len) source = `${e.objectKey}@${e.objectOffset + at - e.logicalOffset}`;
    out.push(source);
  }
  return out;
}

const test = suite('chunk manifest layout');

test('overlay tiles the range exactly, the topmost entry wins and uncovered bytes are holes', () => {
  fc.assert(
    fc.property(entriesArb, fc.integer({ min: 0, max: SPAN }), fc.integer({ min: 1, max: SPAN }), (entries, start, length) => {
      const end = start + length;
      const pieces = overlay(entries, start, end);
      let cursor = start;
      const actual: Array<string | null> = [];
      for (const piece of pieces) {
        assert.is(piece.logicalOffset, cursor, 'pieces are contiguous and in order');
        assert.ok(piece.len > 0, 'no empty piece');
        for (let i = 0; i < piece.len; i++) actual.push(piece.source ? `${piece.source.objectKey}@${piece.source.objectOffset + i}` : null);
        cursor += piece.len;
      }
      assert.is(cursor, end, 'pieces end at the end of the range');
      assert.equal(actual, modelSources(entries, start, end));
    }),
    { numRuns: 500, seed: SEED },
  );
});

test('an entry is shadowed exactly when none of its bytes is visible', () => {
  fc.assert(
    fc.property(entriesArb, (entries) => {
      const shadowed = shadowedEntries(entries);
      const visible = new Set(modelSources(entries, 0, SPAN + 80).filter((s): s is string => s !== null).map((s) => s.split('@')[0]));
      for (const entry of entries) assert.is(shadowed.has(entry), !visible.has(entry.objectKey), `${entry.objectKey} shadowed`);
    }),
    { numRuns: 500, seed: SEED },
  );
});

test('clipping at a limit keeps exactly the bytes below it', () => {
  fc.assert(
    fc.property(entriesArb, fc.integer({ min: 0, max: SPAN + 80 }), (entries, limit) => {
      const clipped = clipEntries(entries, limit);
      const expected = modelSources(entries, 0, SPAN + 80).map((s, at) => (at < limit ? s : null));
      assert.equal(modelSources(clipped, 0, SPAN + 80), expected);
    }),
    { numRuns: 500, seed: SEED },
  );
});

test('normalizing a manifest keeps its entries, fixes extents and drops empty slices', () => {
  const chunkBytes = 1000;
  const entry = (key: string, logicalOffset: number, len: number): BlockEntry => ({ objectKey: key, logicalOffset, len, objectOffset: 0, digestUri: '' });
  const manifest = normalizeManifest(2, [
    { sliceId: 1, logicalOffset: 0, len: 0, blocks: [entry('a', 2100, 50), entry('b', 2010, 20)] },
    { sliceId: 2, logicalOffset: 0, len: 0, blocks: [] },
    { sliceId: 3, logicalOffset: 0, len: 0, blocks: [entry('c', 2500, 100)] },
  ], chunkBytes);
  assert.equal(manifest, {
    chunkIndex: 2,
    logicalOffset: 2000,
    len: 600,
    slices: [
      { sliceId: 1, logicalOffset: 2010, len: 140, blocks: [entry('a', 2100, 50), entry('b', 2010, 20)] },
      { sliceId: 3, logicalOffset: 2500, len: 100, blocks: [entry('c', 2500, 100)] },
    ],
  });
  assert.is(normalizeManifest(0, [{ sliceId: 1, logicalOffset: 0, len: 0, blocks: [] }], chunkBytes), null, 'a manifest with nothing left is removed');
});

test('object keys format and parse back; other keys do not parse', () => {
  const address = { volume: 'default', ino: 42, generation: 7, chunkIndex: 1, blockIndex: 15 };
  assert.is(blockObjectKey(address), 'blocks/default/42/7/1/15');
  assert.equal(parseBlockObjectKey('blocks/default/42/7/1/15'), address);
  for (const bad of ['', 'blocks/default/42/7/1', 'blocks/default/42/x/1/2', 'other/default/1/2/3/4', 'blocks/default/1/2/3/4/5']) {
    assert.is(parseBlockObjectKey(bad), null, JSON.stringify(bad));
  }
});

test.run();
