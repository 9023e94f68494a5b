// The one place object keys are made and read. A key is written once and never modified:
//   blocks/<volume>/<inode>/<generation>/<chunk>/<block>     e.g. blocks/default/42/7/0/3

export interface BlockAddress {
  volume: string;
  ino: number;
  generation: number;
  chunkIndex: number;
  blockIndex: number;
}

export function blockObjectKey(address: BlockAddress): string {
  return `blocks/${address.volume}/${address.ino}/${address.generation}/${address.chunkIndex}/${address.blockIndex}`;
}

/** The prefix under which every block of a volume lives. */
export function volumeObjectPrefix(volume: string): string {
  return `blocks/${volume}/`;
}

export function parseBlockObjectKey(key: string): BlockAddress | null {
  const parts = key.split('/');
  if (parts.length !== 6 || parts[0] !== 'blocks') return null;
  const numbers = parts.slice(2).map((part) => (/^\d+$/.test(part) ? Number(part) : NaN));
  if (numbers.some(Number.isNaN)) return null;
  const [ino, generation, chunkIndex, blockIndex] = numbers as [number, number, number, number];
  return { volume: parts[1]!, ino, generation, chunkIndex, blockIndex };
}
