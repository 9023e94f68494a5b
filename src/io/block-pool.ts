// Reusable block buffers for write sessions and the block cache. A fresh 4 MiB buffer costs page faults on first touch
// and work for the GC later (about 10x the copy into it), so uploaded blocks hand theirs back here.
// Each starts on a page, so that the file backend can write a whole block with O_DIRECT.

import { allocAligned } from '../object/aligned-buffer.js';

export class BlockPool {
  private readonly free: Buffer[] = [];

  constructor(readonly blockBytes: number, private readonly maxPooled: number) {}

  take(): Buffer {
    return this.free.pop() ?? allocAligned(this.blockBytes);
  }

  give(buffer: Buffer): void {
    if (buffer.length === this.blockBytes && this.free.length < this.maxPooled) this.free.push(buffer);
  }
}
