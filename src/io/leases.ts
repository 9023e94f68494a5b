// Read leases: a read in flight, and a write session's not-yet-published uploads, hold the object
// keys they use; object GC and staged cleanup skip a leased key whatever its age.

export class LeaseTable {
  private readonly holders = new Map<string, number>();

  acquire(objectKeys: Iterable<string>): () => void {
    const held = [...objectKeys];
    for (const key of held) this.holders.set(key, (this.holders.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const key of held) {
        const count = (this.holders.get(key) ?? 1) - 1;
        if (count === 0) this.holders.delete(key);
        else this.holders.set(key, count);
      }
    };
  }

  isLeased(objectKey: string): boolean {
    return this.holders.has(objectKey);
  }

  get size(): number {
    return this.holders.size;
  }
}
