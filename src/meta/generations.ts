// Body generations come from one volume-wide counter, so an object key is never reused even after
// a crash: the counter's high-water mark is made durable before any generation below it is handed out.

import { keys } from './keys.js';
import type { MetaKV } from './kv.js';
import { decode, encode } from './records.js';

const RESERVATION = 1024;

export class GenerationAllocator {
  private next = 0;
  private reservedUpTo = 0;
  private reserving: Promise<void> | null = null;

  constructor(private readonly kv: MetaKV) {}

  async allocate(): Promise<number> {
    while (this.next >= this.reservedUpTo) {
      this.reserving ??= this.reserve().finally(() => (this.reserving = null));
      await this.reserving;
    }
    return this.next++;
  }

  private async reserve(): Promise<void> {
    const stored = await this.kv.get(keys.counter('generation'));
    const from = Math.max(stored ? decode<{ reservedUpTo: number }>(stored).reservedUpTo : 1, this.reservedUpTo, 1);
    const upTo = from + RESERVATION;
    await this.kv.commit([{ type: 'put', key: keys.counter('generation'), value: encode({ reservedUpTo: upTo }) }], { sync: true });
    this.next = Math.max(this.next, from);
    this.reservedUpTo = upTo;
  }
}
