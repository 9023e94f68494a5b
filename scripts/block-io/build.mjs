// Builds block_io.node (block digests and whole-object reads in the thread pool, see block_io.c),
// then checks it (check.mjs). Run by the postinstall; a second run with nothing changed does nothing.
//
// Usage: node scripts/block-io/build.mjs [--check]
//   --check  report whether the addon is built and works; build nothing (exit 1 if not)

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCheckedAddon } from '../node-gyp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
for (const a of args) {
  if (a !== '--check') {
    console.error(`[block-io] ERROR: unknown argument ${a}`);
    process.exit(1);
  }
}
buildCheckedAddon({
  label: 'block-io',
  dir: here,
  addon: path.join(here, 'build', 'Release', 'block_io.node'),
  sources: ['block_io.c', 'binding.gyp', 'check.mjs'].map((name) => path.join(here, name)),
  checkScript: path.join(here, 'check.mjs'),
  checkOnly: args.includes('--check'),
});
