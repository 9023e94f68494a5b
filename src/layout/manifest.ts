// Chunk manifests and the overlay rule. A chunk's manifest is a stack of slices; each slice lists
// block entries (a range of one object placed at a file offset). Stacking order decides what is
// visible: later slices cover earlier ones, and inside a slice a later entry covers an earlier one.
// Bytes no entry covers are a hole and read as zeros.

export const CHUNK_BYTES = 64 * 1024 * 1024;
export const BLOCK_BYTES = 4 * 1024 * 1024;

export interface BlockEntry {
  objectKey: string;
  /** file offset of the first byte */
  logicalOffset: number;
  /** where those bytes start inside the object */
  objectOffset: number;
  len: number;
  /** digest of the whole object */
  digestUri: string;
}

export interface Slice {
  sliceId: number;
  logicalOffset: number;
  len: number;
  blocks: BlockEntry[];
}

export interface ChunkManifest {
  chunkIndex: number;
  logicalOffset: number;
  len: number;
  slices: Slice[];
}

/** A visible run of bytes: from an object, or a hole (source null). */
export interface Piece {
  logicalOffset: number;
  len: number;
  source: { objectKey: string; objectOffset: number; digestUri: string } | null;
}

/** Every entry of a manifest in stacking order, bottom first. */
export function stackedEntries(manifest: ChunkManifest): BlockEntry[] {
  return manifest.slices.flatMap((slice) => slice.blocks);
}

/** Cuts entries to the part below `limit` (a truncation); entries wholly past it disappear. */
export function clipEntries(entries: BlockEntry[], limit: number): BlockEntry[] {
  const clipped: BlockEntry[] = [];
  for (const entry of entries) {
    if (entry.logicalOffset >= limit) continue;
    const len = Math.min(entry.len, limit - entry.logicalOffset);
    clipped.push(len === entry.len ? entry : { ...entry, len });
  }
  return clipped;
}

/**
 * What is visible in [start, end) of stacked entries (bottom first): a list of pieces in offset
 * order that tiles the range exactly, holes included.
 */
export function overlay(entries: BlockEntry[], start: number, end: number): Piece[] {
  // Walk top-down; each entry contributes the parts of its range that no higher entry took.
  let uncovered: Array<[number, number]> = [[start, end]];
  const pieces: Piece[] = [];
  for (let i = entries.length - 1; i >= 0 && uncovered.length > 0; i--) {
    const entry = entries[i]!;
    const entryEnd = entry.logicalOffset + entry.len;
    const next: Array<[number, number]> = [];
    for (const [gapStart, gapEnd] of uncovered) {
      const from = Math.max(gapStart, entry.logicalOffset);
      const to = Math.min(gapEnd, entryEnd);
      if (from >= to) {
        next.push([gapStart, gapEnd]);
        continue;
      }
      pieces.push({
        logicalOffset: from,
        len: to - from,
        source: { objectKey: entry.objectKey, objectOffset: entry.objectOffset + (from - entry.logicalOffset), digestUri: entry.digestUri },
      });
      if (gapStart < from) next.push([gapStart, from]);
      if (to < gapEnd) next.push([to, gapEnd]);
    }
    uncovered = next;
  }
  for (const [gapStart, gapEnd] of uncovered) pieces.push({ logicalOffset: gapStart, len: gapEnd - gapStart, source: null });
  return pieces.sort((a, b) => a.logicalOffset - b.logicalOffset);
}

/** The entries of which no byte is visible any more (covered by entries stacked above them). */
export function shadowedEntries(entries: BlockEntry[]): Set<BlockEntry> {
  const shadowed = new Set<BlockEntry>();
  entries.forEach((entry, i) => {
    const above = entries.slice(i + 1).filter((other) => overlaps(other, entry));
    const stillUncovered = overlay(above, entry.logicalOffset, entry.logicalOffset + entry.len).some((piece) => piece.source === null);
    if (!stillUncovered) shadowed.add(entry);
  });
  return shadowed;
}

function overlaps(a: BlockEntry, b: BlockEntry): boolean {
  return a.logicalOffset < b.logicalOffset + b.len && b.logicalOffset < a.logicalOffset + a.len;
}

/** Rebuilds a manifest's bookkeeping (slice and chunk extents) after its entries changed; drops empty slices. */
export function normalizeManifest(chunkIndex: number, slices: Slice[], chunkBytes: number): ChunkManifest | null {
  const kept: Slice[] = [];
  for (const slice of slices) {
    if (slice.blocks.length === 0) continue;
    const first = Math.min(...slice.blocks.map((b) => b.logicalOffset));
    const last = Math.max(...slice.blocks.map((b) => b.logicalOffset + b.len));
    kept.push({ sliceId: slice.sliceId, logicalOffset: first, len: last - first, blocks: slice.blocks });
  }
  if (kept.length === 0) return null;
  const chunkStart = chunkIndex * chunkBytes;
  const chunkEnd = Math.max(...kept.map((s) => s.logicalOffset + s.len));
  return { chunkIndex, logicalOffset: chunkStart, len: chunkEnd - chunkStart, slices: kept };
}

/** Canonical text of a manifest, for digests: fixed field order, no whitespace. */
export function canonicalManifest(manifest: ChunkManifest): string {
  return JSON.stringify({
    chunkIndex: manifest.chunkIndex,
    logicalOffset: manifest.logicalOffset,
    len: manifest.len,
    slices: manifest.slices.map((s) => ({
      sliceId: s.sliceId,
      logicalOffset: s.logicalOffset,
      len: s.len,
      blocks: s.blocks.map((b) => ({ objectKey: b.objectKey, logicalOffset: b.logicalOffset, objectOffset: b.objectOffset, len: b.len, digestUri: b.digestUri })),
    })),
  });
}
