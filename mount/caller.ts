// Who called the operation being served: the uid and gid that own what it creates.

import type { Caller } from '../src/meta/namespace.js';

export interface CallerContext {
  current(): Caller;
  wrap<T extends object>(operations: T): T;
}

export function callerContext(): CallerContext {
  const self: Caller = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  return { current: () => self, wrap: (operations) => operations };
}
