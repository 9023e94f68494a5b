// The crash test's journal: what the writer workload records outside the mount (see
// crash-workload.ts), and the checks the harness makes against it after a crash and a remount.

import { createHash } from 'node:crypto';

/** A version of a file's bytes: `new` (empty, just created), `cand` (about to publish), `dur` (durable). */
export interface VersionRecord {
  k: 'dur' | 'cand' | 'new';
  id: string;
  path: string;
  sha: string;
  size: number;
}

export type JournalRecord =
  | VersionRecord
  | { k: 'mv'; id: string; from: string; to: string; victim?: string }
  | { k: 'mvd'; id: string }
  | { k: 'rm'; id: string; path: string }
  | { k: 'rmd'; id: string };

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export const EMPTY_SHA = sha256(Buffer.alloc(0));

/** mulberry32: a small seeded PRNG, so a seed replays the same choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}


export function parseJournal(text: string): JournalRecord[] {
  const records: JournalRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      records.push(JSON.parse(line) as JournalRecord);
    } catch {
      // only the very last line can be cut short, and only if a kill split a write(2); ignore it
    }
  }
  return records;
}

/** What is on the volume after the remount: path -> sha256 and size of its bytes. */
export type Found = Map<string, { sha: string; size: number }>;

/**
 * The crash rules, checked against one round's journal:
 *  - every file reads as one whole version the workload made and was about to publish (never a mix
 *    of two, never bytes nobody wrote);
 *  - every file whose close or fsync returned holds those bytes or a later candidate, at the path
 *    it has after every rename that returned (either path for a rename cut short);
 *  - no file appears that the journal does not know.
 */
export function checkRound(records: JournalRecord[], found: Found): string[] {
  const problems: string[] = [];
  const shasOf = new Map<string, Set<string>>();
  const pathsOf = new Map<string, Set<string>>();
  const add = <T>(map: Map<string, Set<T>>, id: string, value: T) => {
    let set = map.get(id);
    if (!set) map.set(id, (set = new Set()));
    set.add(value);
  };
  records.forEach((record) => {
    if (record.k === 'dur' || record.k === 'cand' || record.k === 'new') {
      add(shasOf, record.id, record.sha);
      add(pathsOf, record.id, record.path);
    } else if (record.k === 'mv') {
      add(pathsOf, record.id, record.from);
      add(pathsOf, record.id, record.to);
    }
  });

  for (const [path, { sha, size }] of found) {
    const ids = [...pathsOf].filter(([, paths]) => paths.has(path)).map(([id]) => id);
    if (ids.length === 0) {
      problems.push(`${path} (${size} bytes) is not a file the workload made`);
      continue;
    }
    if (!ids.some((id) => shasOf.get(id)?.has(sha))) {
      const versions = ids.reduce((n, id) => n + (shasOf.get(id)?.size ?? 0), 0);
      problems.push(`${path} (${size} bytes, sha256 ${sha.slice(0, 12)}) is none of the ${versions} whole versions written there: a torn or mixed body`);
    }
  }

  const lastDurable = new Map<string, number>();
  records.forEach((record, index) => {
    if (record.k === 'dur') lastDurable.set(record.id, index);
  });
  for (const [id, index] of lastDurable) {
    const durable = records[index] as VersionRecord;
    const later = records.slice(index + 1);
    const removed = later.some((r) => (r.k === 'rm' && r.id === id) || (r.k === 'mv' && r.victim === id));
    if (removed) continue;
    let places = [durable.path];
    const allowed = new Set([durable.sha]);
    later.forEach((record, offset) => {
      if (record.id !== id) return;
      if (record.k === 'cand' || record.k === 'dur') allowed.add(record.sha);
      if (record.k === 'mv') {
        const done = later.slice(offset + 1).some((r) => r.k === 'mvd' && r.id === id);
        places = done ? [record.to] : [record.from, record.to];
      }
    });
    const holders = places.map((place) => found.get(place));
    if (holders.every((holder) => holder === undefined)) {
      problems.push(`${places.join(' or ')}: a file whose close/fsync returned (${durable.size} bytes) is missing`);
    } else if (!holders.some((holder) => holder !== undefined && allowed.has(holder.sha))) {
      const seen = holders.map((h) => (h ? `${h.size} bytes ${h.sha.slice(0, 12)}` : 'absent')).join(', ');
      problems.push(`${places.join(' or ')}: fsynced/closed as ${durable.size} bytes ${durable.sha.slice(0, 12)} but reads as ${seen}, not that or a later version`);
    }
  }
  return problems;
}
