#!/usr/bin/env node
// The small-file loops of scripts/bench, run in their own process against a mount that another
// process serves (synchronous fs calls here cannot deadlock a FUSE server). Each stops at its
// deadline and prints one JSON line: how many it did and in how many milliseconds (and, if a call
// failed, which one: then it exits with 1).
//   node scripts/bench-worker.mjs create <dir> <count> <bytes> <deadlineMs>
//   node scripts/bench-worker.mjs stat <dir> <deadlineMs>
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const [command, dir, ...rest] = process.argv.slice(2);

function create(count, bytes, deadlineMs) {
  mkdirSync(dir, { recursive: true });
  const body = randomBytes(bytes);
  const start = performance.now();
  const stopAt = start + deadlineMs;
  let done = 0;
  try {
    while (done < count && performance.now() < stopAt) {
      const fd = openSync(join(dir, `f${String(done).padStart(6, '0')}`), 'w', 0o644);
      writeSync(fd, body, 0, bytes, 0);
      closeSync(fd);
      done += 1;
    }
  } catch (err) {
    return { done, ms: performance.now() - start, error: `${err.syscall ?? 'a call'} of file ${done + 1} failed with ${err.code ?? err.message}` };
  }
  return { done, ms: performance.now() - start };
}

function stat(deadlineMs) {
  const names = readdirSync(dir);
  const start = performance.now();
  const stopAt = start + deadlineMs;
  let done = 0;
  try {
    for (const name of names) {
      if (performance.now() >= stopAt) break;
      lstatSync(join(dir, name));
      done += 1;
    }
  } catch (err) {
    return { done, total: names.length, ms: performance.now() - start, error: `lstat of ${names[done]} failed with ${err.code ?? err.message}` };
  }
  return { done, total: names.length, ms: performance.now() - start };
}

let result;
if (command === 'create') result = create(Number(rest[0]), Number(rest[1]), Number(rest[2]));
else if (command === 'stat') result = stat(Number(rest[0]));
else {
  process.stderr.write('usage: bench-worker.mjs create <dir> <count> <bytes> <deadlineMs> | stat <dir> <deadlineMs>\n');
  process.exit(2);
}
process.stdout.write(JSON.stringify(result) + '\n');
if (result.error) process.exitCode = 1;
