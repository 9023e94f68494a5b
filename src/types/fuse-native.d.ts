// fuse-native ships no typings; this declares the part Strata uses (see mount/run.ts).
declare module 'fuse-native' {
  interface FuseOptions {
    force?: boolean;
    mkdir?: boolean;
    timeout?: number | false;
    debug?: boolean;
    allowOther?: boolean;
    defaultPermissions?: boolean;
    fsname?: string;
    attrTimeout?: string;
    entryTimeout?: string;
  }
  class Fuse {
    constructor(mountpoint: string, operations: object, options?: FuseOptions);
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    static unmount(mountpoint: string, cb: (err: Error | null) => void): void;
  }
  export default Fuse;
}
