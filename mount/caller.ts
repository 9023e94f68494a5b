// Who called the operation being served. The patched fuse-native (scripts/fuse-native/patch.mjs)
// appends the caller's context to every handler's arguments; each handler runs inside an
// AsyncLocalStorage scope holding it, so `current()` stays right across awaits and overlapping calls.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Caller } from '../src/meta/namespace.js';

interface FuseContext {
  uid: number;
  gid: number;
  pid: number;
}

export interface CallerContext {
  current(): Caller;
  wrap<T extends object>(operations: T): T;
}

function isContext(value: unknown): value is FuseContext {
  return typeof value === 'object' && value !== null && typeof (value as FuseContext).uid === 'number' && typeof (value as FuseContext).gid === 'number';
}

export function callerContext(): CallerContext {
  const storage = new AsyncLocalStorage<Caller>();
  const mounter: Caller = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  return {
    current: () => storage.getStore() ?? mounter,
    wrap: <T extends object>(operations: T): T => {
      const wrapped: Record<string, unknown> = {};
      for (const [name, handler] of Object.entries(operations)) {
        if (typeof handler !== 'function') continue;
        wrapped[name] = (...args: unknown[]) => {
          const last = args[args.length - 1];
          if (!isContext(last)) return handler(...args);
          return storage.run({ uid: last.uid, gid: last.gid }, () => handler(...args.slice(0, -1)));
        };
      }
      return wrapped as T;
    },
  };
}
