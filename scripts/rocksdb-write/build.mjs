// Builds rocksdb_write.node, which writes a RocksDB batch on the calling thread (see
// rocksdb_write.cc), then checks it against a throwaway database. Run by the postinstall; a second
// run with nothing changed does nothing.
//
// Usage: node scripts/rocksdb-write/build.mjs [--check]
//   --check  report whether the addon is built and works; build nothing (exit 1 if not)
//
// The addon restates the leading members of structs of the rocksdb package's binding.cc, so it is
// built only against the binding.cc it was written for (pinned by its sha256 below).

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCheckedAddon } from '../node-gyp.mjs';

const ROCKSDB_VERSION = '5.2.1';
const BINDING_SHA256 = 'e1490b0535a7005a71425d2a2c4de9bcec535aa6795ddbfac315ef838f5808c2';
const here = path.dirname(fileURLToPath(import.meta.url));
const addon = path.join(here, 'build', 'Release', 'rocksdb_write.node');
const sources = ['rocksdb_write.cc', 'binding.gyp', 'check.mjs'].map((name) => path.join(here, name));

function fail(msg) {
  console.error(`[rocksdb-write] ERROR: ${msg}`);
  process.exit(1);
}

const args = process.argv.slice(2);
for (const a of args) if (a !== '--check') fail(`unknown argument ${a}`);
const checkOnly = args.includes('--check');

const require = createRequire(import.meta.url);
const packageDir = path.dirname(require.resolve('rocksdb/package.json'));
const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
if (version !== ROCKSDB_VERSION) fail(`rocksdb ${version} is installed; this addon is written for ${ROCKSDB_VERSION} (package.json pins it)`);
const bindingHash = createHash('sha256').update(fs.readFileSync(path.join(packageDir, 'binding.cc'))).digest('hex');
if (bindingHash !== BINDING_SHA256) fail(`${path.join(packageDir, 'binding.cc')} is not the one this addon is written for (sha256 ${bindingHash}); reinstall it (npm ci)`);

buildCheckedAddon({ label: 'rocksdb-write', dir: here, addon, sources, checkScript: path.join(here, 'check.mjs'), checkOnly });
