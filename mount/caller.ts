// Who called the operation being served. The patched fuse-native (scripts/fuse-native/patch.mjs)
// appends the caller's context to every handler's arguments; the wrapper records it for the
// synchronous start of the handler, which is where the adapter reads it (before any await).
// A per-call AsyncLocalStorage would also survive awaits, but its promise hooks tax every
// promise on the write path.

import type { Caller } from '../src/meta/namespace.js';

interface FuseContext {
  uid: number;
  gid: number;
}

export interface CallerContext {
  current(): Caller;
  wrap<T extends object>(operations: T): T;
}

function isContext(value: unknown): value is FuseContext {
  return typeof value === 'object' && value !== null && typeof (value as FuseContext).uid === 'number' && typeof (value as FuseContext).gid === 'number';
}

export function callerContext(): CallerContext {
  const mounter: Caller = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  let dispatching: Caller = mounter;
  return {
    current: () => dispatching,
    wrap: <T extends object>(operations: T): T => {
      const wrapped: Record<string, unknown> = {};
      for (const [name, handler] of Object.entries(operations)) {
        if (typeof handler !== 'function') continue;
        wrapped[name] = (...args: unknown[]) => {
          const last = args[args.length - 1];
          if (!isContext(last)) return handler(...args);
          dispatching = { uid: last.uid, gid: last.gid };
          try {
            return handler(...args.slice(0, -1));
          } finally {
            dispatching = mounter;
          }
        };
      }
      return wrapped as T;
    },
  };
}
