// Bounded upload concurrency and back-pressure: at most `concurrency` PUTs at once, and writers
// wait while more than `maxHeldBytes` of sealed data is waiting for or in upload.

export class UploadQueue {
  private active = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private heldBytes = 0;
  private readonly drainWaiters: Array<() => void> = [];

  constructor(private readonly concurrency: number, private readonly maxHeldBytes: number) {}

  get bytesHeld(): number {
    return this.heldBytes;
  }

  get limitBytes(): number {
    return this.maxHeldBytes;
  }

  get inFlight(): number {
    return this.active;
  }

  /** Counts `bytes` against the limit until the returned release is called. */
  hold(bytes: number): () => void {
    this.heldBytes += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.heldBytes -= bytes;
      while (this.heldBytes <= this.maxHeldBytes && this.drainWaiters.length > 0) this.drainWaiters.shift()!();
    };
  }

  get overLimit(): boolean {
    return this.heldBytes > this.maxHeldBytes;
  }

  whenBelowLimit(): Promise<void> {
    if (this.heldBytes <= this.maxHeldBytes) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  async run<T>(upload: () => Promise<T>): Promise<T> {
    while (this.active >= this.concurrency) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.active++;
    try {
      return await upload();
    } finally {
      this.active--;
      this.slotWaiters.shift()?.();
    }
  }
}
