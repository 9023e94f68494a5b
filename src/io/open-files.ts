// The file bodies open in this process, shared by every handle of the same inode so that all
// readers see a writer's bytes at once. The last release publishes and, for an unlinked file,
// retires the inode.

import { NotFound } from '../errors.js';
import type { Namespace, OpenFileOracle } from '../meta/namespace.js';
import { S_IFMT, S_IFREG, type Inode } from '../meta/records.js';
import { FileBody, type BodyContext } from './file-body.js';

interface OpenEntry {
  body: Promise<FileBody>;
  handles: number;
}

export class OpenFiles implements OpenFileOracle {
  private readonly open = new Map<number, OpenEntry>();
  private readonly closing = new Map<number, Promise<void>>();
  private ctx!: BodyContext;

  bind(ctx: BodyContext): void {
    this.ctx = ctx;
  }

  private get namespace(): Namespace {
    return this.ctx.namespace;
  }

  isOpen(ino: number): boolean {
    return this.open.has(ino);
  }

  /** The open body of `ino`, if any handle holds it. */
  peek(ino: number): Promise<FileBody> | undefined {
    return this.open.get(ino)?.body;
  }

  /** Opens a handle on `ino`; `created` is the inode of a file just created, which has no body yet. */
  async acquire(ino: number, created?: Inode): Promise<FileBody> {
    // An open during the last release's publish waits for it: if that publish fails, the session
    // is discarded, and this open must not share (and later publish) the failed bytes.
    const closing = this.closing.get(ino);
    if (closing) await closing;
    let entry = this.open.get(ino);
    if (!entry) {
      const body = created ? Promise.resolve(FileBody.empty(this.ctx, created)) : this.namespace.getattr(ino).then((inode) => {
        if ((inode.mode & S_IFMT) !== S_IFREG) throw NotFound(`inode ${ino} is not a regular file`);
        return FileBody.load(this.ctx, inode);
      });
      entry = { body, handles: 0 };
      this.open.set(ino, entry);
      body.catch(() => this.open.delete(ino));
    }
    entry.handles++;
    return entry.body;
  }

  /** Drops one handle; the last one publishes the session and forgets the body. */
  async release(ino: number): Promise<void> {
    const entry = this.open.get(ino);
    if (!entry) return;
    entry.handles--;
    if (entry.handles > 0) return;
    const closing = this.closeLast(ino, entry);
    const settled = closing.then(
      () => undefined,
      () => undefined,
    );
    this.closing.set(ino, settled);
    try {
      await closing;
    } finally {
      if (this.closing.get(ino) === settled) this.closing.delete(ino);
    }
  }

  /** The last handle is gone: publish (or discard an unlinked file's session), forget the body. */
  private async closeLast(ino: number, entry: OpenEntry): Promise<void> {
    const body = await entry.body;
    let publishError: unknown;
    try {
      const inode = await this.namespace.getattr(ino);
      if (inode.nlink === 0) body.discard();
      else await body.publish();
    } catch (err) {
      publishError = err;
    }
    this.open.delete(ino);
    if (publishError) body.discard();
    const inode = await this.namespace.getattr(ino).catch(() => undefined);
    if (inode && inode.nlink === 0) await this.namespace.releaseOrphan(ino);
    if (publishError) throw publishError;
  }

  /**
   * Publishes, every `intervalMs`, the open bodies that have unpublished changes, so a writer that
   * keeps its file open for long still has its data published (the time bound on dirty data).
   */
  startAutoPublish(intervalMs: number, onError: (ino: number, err: unknown) => void): () => void {
    const timer = setInterval(() => {
      for (const [ino, entry] of this.open) {
        entry.body.then((body) => (body.hasChanges ? body.publish() : undefined)).catch((err: unknown) => onError(ino, err));
      }
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Publishes every open body (unmount, sync). */
  async publishAll(sync = false): Promise<void> {
    await Promise.all([...this.open.values()].map(async (entry) => (await entry.body).publish({ sync })));
  }
}
