// Open file and directory handles: the uint32 numbers the kernel holds, and what each one means.

import type { FileBody } from '../src/io/file-body.js';

export interface FileHandle {
  kind: 'file';
  ino: number;
  flags: number;
  body: FileBody;
  /** a file of a snapshot: its body is a read-only view of a past version */
  snapshot: boolean;
}

export interface DirHandle {
  kind: 'dir';
  ino: number;
}

export type Handle = FileHandle | DirHandle;

export class HandleTable {
  private readonly handles = new Map<number, Handle>();
  private next = 1;

  add(handle: Handle): number {
    while (this.handles.has(this.next) || this.next === 0) this.next = (this.next + 1) >>> 0;
    const fd = this.next;
    this.next = (this.next + 1) >>> 0;
    this.handles.set(fd, handle);
    return fd;
  }

  get(fd: number): Handle | undefined {
    return this.handles.get(fd);
  }

  remove(fd: number): Handle | undefined {
    const handle = this.handles.get(fd);
    this.handles.delete(fd);
    return handle;
  }

  get size(): number {
    return this.handles.size;
  }
}
