// A file body against a plain Buffer: random writes (across block and chunk boundaries), overwrites
// before and after publish, truncates down and up, publishes, and close + reopen of the body and of
// the whole volume. After every step the whole file and random ranges must read exactly as the
// model says: holes are zeros, bytes past a shrink are gone for good.
//
// Runs use a fixed seed (deterministic `npm test`); STRATA_FC_SEED=<n> explores another. Failures
// print fast-check's seed and path; replay one with STRATA_FC_SEED=<seed> STRATA_FC_PATH=<path>.

import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FileBody } from '../../src/io/file-body.js';
import { BLOCK_BYTES, CHUNK_BYTES } from '../../src/layout/manifest.js';
import { openTestVolume, stopTestS3rver, type TestBackend, type TestVolume } from '../helpers/volume.js';

const MiB = 1024 * 1024;
const KiB = 1024;
const caller = { uid: 0, gid: 0 };

/** The reference: a zero-filled Buffer and a size. */
class BodyModel {
  private bytes = Buffer.alloc(0);
  size = 0;

  private ensure(capacity: number): void {
    if (capacity <= this.bytes.length) return;
    const larger = Buffer.alloc(Math.max(capacity, this.bytes.length * 2));
    this.bytes.copy(larger);
    this.bytes = larger;
  }

  write(offset: number, data: Buffer): void {
    this.ensure(offset + data.length);
    data.copy(this.bytes, offset);
    this.size = Math.max(this.size, offset + data.length);
  }

  truncate(size: number): void {
    if (size < this.size) this.bytes.fill(0, size, this.size);
    this.ensure(size);
    this.size = size;
  }

  read(offset: number, length: number): Buffer {
    const end = Math.min(this.size, offset + length);
    return end <= offset ? Buffer.alloc(0) : this.bytes.subarray(offset, end);
  }
}

/** Deterministic bytes for a step (xorshift32), so a counterexample replays exactly. */
function pattern(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (let i = length - (length % 4); i < length; i++) out[i] = (seed + i) & 0xff;
  return out;
}

type Step =
  | { kind: 'write'; offset: number; length: number; seed: number }
  | { kind: 'overwrite'; atPermille: number; length: number; seed: number }
  | { kind: 'writeAcrossChunk'; delta: number; length: number; seed: number }
  | { kind: 'truncateDown'; atPermille: number }
  | { kind: 'truncateUp'; extraBytes: number }
  | { kind: 'fillBlockThenTruncate'; block: number; keepBytes: number; seed: number }
  | { kind: 'publish' }
  | { kind: 'reopenBody' }
  | { kind: 'reopenVolume' };

interface Probe {
  atPermille: number;
  length: number;
}

const offsetArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 20 * MiB }) },
  // near a block boundary, so writes start or end just across it
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: -8 * KiB, max: 8 * KiB })).map(([block, delta]) => Math.max(0, block * BLOCK_BYTES + delta)) },
);
const lengthArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 64 * KiB }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 6 * MiB }) },
  { weight: 1, arbitrary: fc.constant(BLOCK_BYTES) },
);
const seedArb = fc.integer({ min: 1, max: 0x7fffffff });
const permilleArb = fc.integer({ min: 0, max: 1000 });

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), offset: offsetArb, length: lengthArb, seed: seedArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('overwrite' as const), atPermille: permilleArb, length: lengthArb, seed: seedArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('writeAcrossChunk' as const),
      delta: fc.integer({ min: -256 * KiB, max: 256 * KiB }),
      length: fc.integer({ min: 1, max: 512 * KiB }),
      seed: seedArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncateDown' as const), atPermille: permilleArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncateUp' as const), extraBytes: fc.integer({ min: 0, max: 8 * MiB }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('fillBlockThenTruncate' as const),
      block: fc.integer({ min: 0, max: 4 }),
      keepBytes: fc.integer({ min: 0, max: BLOCK_BYTES - 1 }),
      seed: seedArb,
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'publish' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'reopenBody' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopenVolume' as const }) },
);
/** Many small publishes of a small file: slice stacks grow past the bound and get compacted. */
const deepStackStepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('write' as const), offset: fc.integer({ min: 0, max: 3 * MiB }), length: fc.integer({ min: 1, max: 64 * KiB }), seed: seedArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncateDown' as const), atPermille: fc.integer({ min: 500, max: 1000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncateUp' as const), extraBytes: fc.integer({ min: 0, max: 512 * KiB }) }) },
  { weight: 5, arbitrary: fc.constant({ kind: 'publish' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopenBody' as const }) },
);
const probeArb: fc.Arbitrary<Probe> = fc.record({ atPermille: permilleArb, length: fc.integer({ min: 0, max: 5 * MiB }) });
const scenario = (steps: fc.Arbitrary<Step>, minLength: number, maxLength: number) =>
  fc.array(fc.record({ step: steps, probes: fc.array(probeArb, { minLength: 2, maxLength: 2 }) }), { minLength, maxLength });
const mixedScenarioArb = scenario(stepArb, 1, 12);
const deepStackScenarioArb = scenario(deepStackStepArb, 20, 60);
type Scenario = Array<{ step: Step; probes: Probe[] }>;

function firstDifference(actual: Buffer, expected: Buffer): string {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) return `first difference at byte ${i}: ${actual[i]} instead of ${expected[i]}`;
  }
  return 'equal';
}

interface Session {
  tv: TestVolume;
  ino: number;
  body: FileBody;
  model: BodyModel;
}

async function apply(session: Session, step: Step): Promise<void> {
  const { model } = session;
  const write = (offset: number, length: number, seed: number) => {
    const data = pattern(seed, length);
    session.body.write(offset, data);
    model.write(offset, data);
  };
  switch (step.kind) {
    case 'write':
      write(step.offset, step.length, step.seed);
      await session.body.drain();
      return;
    case 'overwrite':
      write(Math.floor((model.size * step.atPermille) / 1000), step.length, step.seed);
      await session.body.drain();
      return;
    case 'writeAcrossChunk':
      write(Math.max(0, CHUNK_BYTES + step.delta), step.length, step.seed);
      return;
    case 'truncateDown': {
      const size = Math.floor((model.size * step.atPermille) / 1000);
      await session.body.truncate(size);
      model.truncate(size);
      return;
    }
    case 'truncateUp':
      await session.body.truncate(model.size + step.extraBytes);
      model.truncate(model.size + step.extraBytes);
      return;
    case 'fillBlockThenTruncate': {
      // a whole block starts uploading at once; the truncate arrives while it does (no await between)
      write(step.block * BLOCK_BYTES, BLOCK_BYTES, step.seed);
      const size = step.block * BLOCK_BYTES + step.keepBytes;
      await session.body.truncate(size);
      model.truncate(size);
      return;
    }
    case 'publish':
      await session.body.publish();
      assert.is((await session.tv.volume.namespace.getattr(session.ino)).sizeBytes, model.size, 'published inode size');
      return;
    case 'reopenBody':
      await session.tv.volume.files.release(session.ino);
      session.body = await session.tv.volume.files.acquire(session.ino);
      return;
    case 'reopenVolume':
      await session.tv.volume.files.release(session.ino);
      await session.tv.reopen();
      session.body = await session.tv.volume.files.acquire(session.ino);
      return;
  }
}

async function check(session: Session, probes: Probe[], label: string): Promise<void> {
  const { body, model } = session;
  assert.is(body.sizeBytes, model.size, `${label}: size`);
  const whole = await body.read(0, model.size + 4096);
  assert.ok(whole.equals(model.read(0, model.size)), `${label}: whole file: ${firstDifference(whole, model.read(0, model.size))}`);
  for (const probe of probes) {
    const offset = Math.floor(((model.size + MiB) * probe.atPermille) / 1000);
    const actual = await body.read(offset, probe.length);
    const expected = model.read(offset, probe.length);
    assert.ok(actual.equals(expected), `${label}: read(${offset}, ${probe.length}): ${firstDifference(actual, expected)}`);
  }
}

/** A fixed seed keeps `npm test` deterministic; STRATA_FC_SEED explores others. */
const DEFAULT_SEED = 20240601;
let fileCounter = 0;

/**
 * Runs scenarios, each on a new file of the volume, checking the model after every step. Every run
 * is made (no time limit on finding a failure); only the shrinking of a failure is bounded by
 * `shrinkLimitMs`, after which the smallest counterexample found so far is reported.
 */
async function checkScenarios(tv: TestVolume, scenarios: fc.Arbitrary<Scenario>, numRuns: number, shrinkLimitMs: number): Promise<void> {
  const seed = process.env.STRATA_FC_SEED === undefined ? DEFAULT_SEED : Number(process.env.STRATA_FC_SEED);
  const property = fc.asyncProperty(scenarios, async (steps) => {
    const ino = (await tv.volume.namespace.create(1, `f${fileCounter++}`, 0o644, caller)).ino;
    const session: Session = { tv, ino, body: await tv.volume.files.acquire(ino), model: new BodyModel() };
    try {
      for (const [i, { step, probes }] of steps.entries()) {
        await apply(session, step);
        await check(session, probes, `step ${i} (${step.kind})`);
      }
    } finally {
      await session.tv.volume.files.release(ino).catch(() => undefined);
    }
  });
  const found = await fc.check(property, { numRuns, seed, path: process.env.STRATA_FC_PATH, endOnFailure: true, includeErrorInReport: true });
  if (!found.failed) return;
  // Shrink from the failure just found, for a bounded time.
  await fc.assert(property, { seed: found.seed, path: found.counterexamplePath ?? undefined, interruptAfterTimeLimit: shrinkLimitMs, includeErrorInReport: true });
  // The replay passed (a timing-dependent failure that did not recur): report the original.
  throw new Error(fc.defaultReportMessage(found) ?? `property failed with seed ${found.seed}`);
}

function modelSuite(backend: TestBackend, runs: { mixed: number; deepStacks: number }, shrinkLimitMs: number) {
  const test = suite<{ tv?: TestVolume }>(`file body against a Buffer model (${backend})`, {});
  test.before(async (ctx) => {
    ctx.tv = await openTestVolume(backend, { cacheBytes: 64 * MiB });
  });
  test.after(async (ctx) => {
    await ctx.tv?.cleanup();
    if (backend === 's3rver') await stopTestS3rver();
  });

  test('every read matches the model after any sequence of writes, truncates, publishes and reopens', async ({ tv }) => {
    await checkScenarios(tv!, mixedScenarioArb, runs.mixed, shrinkLimitMs);
  });

  test('every read matches the model through many small publishes that compact deep slice stacks', async ({ tv }) => {
    await checkScenarios(tv!, deepStackScenarioArb, runs.deepStacks, shrinkLimitMs);
  });

  return test;
}

// Runs are kept few enough for the whole file to pass in about 35 s; a failure shrinks for at most
// the given time. Raise the counts locally (or try other STRATA_FC_SEED values) when hunting.
modelSuite('file', { mixed: 30, deepStacks: 15 }, 15_000).run();
modelSuite('s3rver', { mixed: 5, deepStacks: 3 }, 8_000).run();
