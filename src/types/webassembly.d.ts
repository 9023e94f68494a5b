// The one WebAssembly API Strata uses (object/aligned-buffer.ts); the DOM lib that declares it is not loaded.
declare namespace WebAssembly {
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
}
