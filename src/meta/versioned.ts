// Versioned metadata on a RawKV: every commit takes the next version; a record it replaces or deletes
// is kept as history while someone may read the past (a snapshot pin exists), so reads as of any
// retained version see the namespace exactly as it was.
//
// Raw layout:
//   <logical key>                     -> <wrote:u64> <payload>       the newest record
//   h <logical key> <wrote:u64>       -> <ended:u64> <payload>       a record that was live in [wrote, ended)
//   e <ended:u64> <logical key>       -> <wrote:u64>                 history by the version that ended it
// Reading key K as of version v: the newest record if wrote <= v, else the history record of K with
// wrote <= v < ended, else absent. History GC (gc/history.ts) walks `e` in order, so a pass costs what it removes.

import { HISTORY_INDEX_TAG, HISTORY_TAG, isVersionedKey, keys, readU64, u64 } from './keys.js';
import type { CommitOptions, Entry, MetaKV, Mutation, RawEntry, RawKV, ScanOptions } from './kv.js';
import { codeOf, Invalid, StrataError } from '../errors.js';

const VERSION_BYTES = 8;
const historyTag = Buffer.from(HISTORY_TAG, 'latin1');
const historyIndexTag = Buffer.from(HISTORY_INDEX_TAG, 'latin1');

export function historyKey(logicalKey: Buffer, wroteVersion: number): Buffer {
  return Buffer.concat([historyTag, logicalKey, u64(wroteVersion)]);
}

export function historyIndexKey(endedVersion: number, logicalKey: Buffer): Buffer {
  return Buffer.concat([historyIndexTag, u64(endedVersion), logicalKey]);
}

export function historyIndexRange(endedBefore: number): [Buffer, Buffer] {
  return [historyIndexTag, Buffer.concat([historyIndexTag, u64(endedBefore)])];
}

/** An `e` index entry: the version that ended the record, its logical key, and its history key. */
export function parseHistoryIndexEntry(key: Buffer, value: Buffer): { endedVersion: number; logicalKey: Buffer; historyKey: Buffer } {
  const logicalKey = key.subarray(1 + VERSION_BYTES);
  return { endedVersion: readU64(key, 1), logicalKey, historyKey: historyKey(logicalKey, readU64(value, 0)) };
}

function stamp(version: number, payload: Buffer): Buffer {
  return Buffer.concat([u64(version), payload]);
}

function payloadOf(raw: Buffer): Buffer {
  return raw.subarray(VERSION_BYTES);
}

/** How long mutations queued with commitSoon wait for a commit to carry them before one is made for them. */
export const QUEUED_COMMIT_DELAY_MS = 5;

interface Queued {
  mutations: Mutation[];
  onFailure: (err: Error) => void;
}

/** A commit called while an earlier one carrying queued mutations was pending may build on them. */
function dependentFailure(cause: Error): Error {
  return new StrataError(codeOf(cause), `metadata commit not made: an earlier commit it may build on failed (${cause.message})`, { cause });
}

export class VersionedKV implements MetaKV {
  private version: number;
  private commitChain: Promise<unknown> = Promise.resolve();
  /** mutations waiting for the next commit (commitSoon) */
  private queued: Queued[] = [];
  /** queued mutations not yet written or failed: reads of their keys wait for them */
  private unsettled: Queued[] = [];
  private queuedTimer: NodeJS.Timeout | undefined;
  private commitsCalled = 0;
  /** set when a commit carrying queued mutations failed: the commits called until then fail too */
  private failure: { throughCall: number; cause: Error } | undefined;

  private constructor(
    readonly raw: RawKV,
    startVersion: number,
    /** whether a commit must keep what it replaces: true while any snapshot pin exists */
    private readonly historyNeeded: () => boolean,
  ) {
    this.version = startVersion;
  }

  static async open(raw: RawKV, historyNeeded: () => boolean): Promise<VersionedKV> {
    const stored = await raw.get(keys.counter('version'));
    return new VersionedKV(raw, stored ? readU64(payloadOf(stored), 0) : 0, historyNeeded);
  }

  currentVersion(): number {
    return this.version;
  }

  async get(key: Buffer, atVersion?: number): Promise<Buffer | undefined> {
    if (this.unsettled.length > 0) await this.settleQueued((queuedKey) => queuedKey.equals(key));
    const live = await this.raw.get(key);
    if (atVersion === undefined || atVersion >= this.version) return live && payloadOf(live);
    if (live && readU64(live, 0) <= atVersion) return payloadOf(live);
    const [past] = await this.raw.range(historyKey(key, 0), historyKey(key, atVersion + 1), { reverse: true, limit: 1 });
    if (past && readU64(past.value, 0) > atVersion) return payloadOf(past.value);
    return undefined;
  }

  async scan(start: Buffer, end: Buffer, options: ScanOptions = {}): Promise<Entry[]> {
    if (this.unsettled.length > 0) await this.settleQueued((queuedKey) => Buffer.compare(queuedKey, start) >= 0 && Buffer.compare(queuedKey, end) < 0);
    const atVersion = options.atVersion;
    if (atVersion === undefined || atVersion >= this.version) {
      const live = await this.raw.range(start, end, { limit: options.limit });
      return live.map((entry) => ({ key: entry.key, value: payloadOf(entry.value), version: readU64(entry.value, 0) }));
    }
    const visible = new Map<string, Entry>();
    for (const entry of await this.raw.range(start, end)) {
      const wrote = readU64(entry.value, 0);
      if (wrote <= atVersion) visible.set(entry.key.toString('hex'), { key: entry.key, value: payloadOf(entry.value), version: wrote });
    }
    const past = await this.raw.range(Buffer.concat([historyTag, start]), Buffer.concat([historyTag, end]));
    for (const entry of past) {
      const logicalKey = entry.key.subarray(1, entry.key.length - VERSION_BYTES);
      // The appended version bytes can sort a key just below `start` into the raw range.
      if (Buffer.compare(logicalKey, start) < 0 || Buffer.compare(logicalKey, end) >= 0) continue;
      const wrote = readU64(entry.key, entry.key.length - VERSION_BYTES);
      const ended = readU64(entry.value, 0);
      if (wrote <= atVersion && atVersion < ended) visible.set(logicalKey.toString('hex'), { key: logicalKey, value: payloadOf(entry.value), version: wrote });
    }
    const sorted = [...visible.values()].sort((a, b) => Buffer.compare(a.key, b.key));
    return options.limit === undefined ? sorted : sorted.slice(0, options.limit);
  }

  commit(mutations: Mutation[], options: CommitOptions = {}): Promise<number> {
    const call = ++this.commitsCalled;
    const result = this.commitChain.then(() => {
      if (this.failure && call <= this.failure.throughCall) throw dependentFailure(this.failure.cause);
      return this.applyWithQueued(mutations, options.sync ?? false);
    });
    this.commitChain = result.catch(() => undefined);
    return result;
  }

  /**
   * Queues mutations for the next commit, whoever makes it, and at the latest QUEUED_COMMIT_DELAY_MS
   * from now; until then, reads of their keys wait for them. `onFailure` hears if the commit that
   * carries them fails: the caller already acted as if they had been made, and must undo that.
   */
  commitSoon(mutations: Mutation[], onFailure: (err: Error) => void): void {
    const queued = { mutations, onFailure };
    this.queued.push(queued);
    this.unsettled.push(queued);
    this.queuedTimer ??= setTimeout(() => {
      this.queuedTimer = undefined;
      if (this.queued.length > 0) this.commit([]).catch(() => undefined);
    }, QUEUED_COMMIT_DELAY_MS);
  }

  /** Resolves once every queued mutation is written (or failed); `sync` also syncs the log to disk. */
  async settle(options: CommitOptions = {}): Promise<void> {
    if (this.queued.length > 0 || options.sync) await this.commit([], options);
    else if (this.unsettled.length > 0) await this.commitChain;
  }

  /** A read of keys some queued mutation writes waits for it; a failure is its owner's to hear. */
  private async settleQueued(read: (key: Buffer) => boolean): Promise<void> {
    if (this.unsettled.some((queued) => queued.mutations.some((m) => read(m.key)))) await this.settle().catch(() => undefined);
  }

  private async applyWithQueued(mutations: Mutation[], sync: boolean): Promise<number> {
    const carried = this.queued.splice(0);
    clearTimeout(this.queuedTimer);
    this.queuedTimer = undefined;
    const all = carried.length === 0 ? mutations : [...carried.flatMap((queued) => queued.mutations), ...mutations];
    if (all.length === 0 && !sync) return this.version;
    try {
      return await this.apply(all, sync);
    } catch (err) {
      if (carried.length > 0) {
        const cause = err instanceof Error ? err : new Error(String(err));
        this.failure = { throughCall: this.commitsCalled, cause };
        for (const queued of carried) queued.onFailure(cause);
      }
      throw err;
    } finally {
      this.unsettled = this.unsettled.filter((queued) => !carried.includes(queued));
    }
  }

  private async apply(mutations: Mutation[], sync: boolean): Promise<number> {
    const finalByKey = new Map<string, Mutation>();
    for (const mutation of mutations) {
      if (mutation.key[0] === historyTag[0] || mutation.key[0] === historyIndexTag[0]) {
        throw Invalid(`a commit may not write history key ${mutation.key.toString('hex')} directly`);
      }
      finalByKey.set(mutation.key.toString('hex'), mutation);
    }
    const version = this.version + 1;
    const ops: Mutation[] = [];
    const keepHistory = this.historyNeeded();
    const versioned = keepHistory ? [...finalByKey.values()].filter((m) => isVersionedKey(m.key)) : [];
    const previous = await this.raw.getMany(versioned.map((m) => m.key));
    versioned.forEach((mutation, i) => {
      const old = previous[i];
      if (!old) return;
      ops.push({ type: 'put', key: historyKey(mutation.key, readU64(old, 0)), value: stamp(version, payloadOf(old)) });
      ops.push({ type: 'put', key: historyIndexKey(version, mutation.key), value: u64(readU64(old, 0)) });
    });
    for (const mutation of finalByKey.values()) {
      ops.push(mutation.type === 'put' ? { type: 'put', key: mutation.key, value: stamp(version, mutation.value) } : mutation);
    }
    ops.push({ type: 'put', key: keys.counter('version'), value: stamp(version, u64(version)) });
    await this.raw.write(ops, { sync });
    this.version = version;
    return version;
  }

  /** History index entries of records ended at or before `endedAtMost`, oldest first. */
  historyEndedBy(endedAtMost: number, limit: number): Promise<RawEntry[]> {
    const [start, end] = historyIndexRange(endedAtMost + 1);
    return this.raw.range(start, end, { limit });
  }

  /** Deletes raw history records; used only by history GC, which decides what is safe to drop. */
  async dropHistory(rawKeys: Buffer[]): Promise<void> {
    const run = this.commitChain.then(() => this.raw.write(rawKeys.map((key) => ({ type: 'del', key })), { sync: false }));
    this.commitChain = run.catch(() => undefined);
    await run;
  }

  async close(): Promise<void> {
    await this.settle().catch(() => undefined);
    await this.commitChain;
    await this.raw.close();
  }
}
