// Page-aligned buffers, which O_DIRECT writes need (file.ts). JS cannot ask for an alignment
// or learn an address, but a WebAssembly memory is mapped on its own and so starts on a page.

const WASM_PAGE_BYTES = 64 * 1024;
/** What O_DIRECT asks of a buffer's address, a file offset and a length: a page covers any device's logical block. */
const DIRECT_IO_ALIGN_BYTES = 4096;

const alignedMemory = new WeakSet<ArrayBufferLike>();

/**
 * A buffer of `bytes` starting on a page. Falls back to an ordinary (unaligned) buffer where the
 * memory cannot be mapped, for example under a tight `ulimit -v`: each one reserves address space.
 */
export function allocAligned(bytes: number): Buffer {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES));
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  } catch {
    return Buffer.allocUnsafe(bytes);
  }
  alignedMemory.add(memory.buffer);
  return Buffer.from(memory.buffer, 0, bytes);
}

/** Whether `bytes` may be written with O_DIRECT: aligned memory, at an aligned place, of an aligned length. */
export function isDirectWritable(bytes: Uint8Array): boolean {
  return (
    bytes.byteLength > 0 &&
    bytes.byteLength % DIRECT_IO_ALIGN_BYTES === 0 &&
    bytes.byteOffset % DIRECT_IO_ALIGN_BYTES === 0 &&
    alignedMemory.has(bytes.buffer)
  );
}
