// Runs a few system calls in a Python child process and reports each one's result or errno name,
// so a test can assert "close failed with EIO" rather than "the shell said something".
//
//   const r = await syscalls(m, `step('write', lambda: os.write(fd, b'x'))`);   // r.write === 1 or 'EIO'

import type { TestMount } from './mount.js';

const PRELUDE = `
import os, sys, json, errno, hashlib, time
results = {}
def step(name, fn):
    started = time.monotonic()
    try:
        value = fn()
        results[name] = 'ok' if value is None else value
    except OSError as e:
        results[name] = errno.errorcode.get(e.errno, str(e.errno))
    results[name + '.ms'] = round((time.monotonic() - started) * 1000)
def sha_of(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()
`;

export type SyscallResults = Record<string, string | number>;

export async function syscalls(m: Pick<TestMount, 'sh'>, code: string): Promise<SyscallResults> {
  const script = `${PRELUDE}\n${code}\nprint(json.dumps(results))\n`;
  const { stdout } = await m.sh(`python3 - <<'STRATA_PY'\n${script}\nSTRATA_PY`);
  return JSON.parse(stdout.trim().split('\n').pop()!) as SyscallResults;
}
