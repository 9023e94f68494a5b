// Sorted, disjoint [start, end) byte ranges: the dirty parts of a block buffer.

export type Interval = [start: number, end: number];

export function addInterval(intervals: Interval[], start: number, end: number): Interval[] {
  const merged: Interval[] = [];
  let [from, to] = [start, end];
  for (const [s, e] of intervals) {
    if (e < from || s > to) merged.push([s, e]);
    else [from, to] = [Math.min(s, from), Math.max(e, to)];
  }
  merged.push([from, to]);
  return merged.sort((a, b) => a[0] - b[0]);
}

export function clipIntervals(intervals: Interval[], limit: number): Interval[] {
  return intervals.filter(([s]) => s < limit).map(([s, e]) => [s, Math.min(e, limit)] as Interval);
}

export function coversWhole(intervals: Interval[], length: number): boolean {
  return intervals.length === 1 && intervals[0]![0] === 0 && intervals[0]![1] >= length;
}

/** The parts of [start, end) that no interval covers. */
export function gapsIn(intervals: Interval[], start: number, end: number): Interval[] {
  const gaps: Interval[] = [];
  let cursor = start;
  for (const [s, e] of intervals) {
    if (e <= cursor || s >= end) continue;
    if (s > cursor) gaps.push([cursor, s]);
    cursor = Math.max(cursor, e);
  }
  if (cursor < end) gaps.push([cursor, end]);
  return gaps;
}
