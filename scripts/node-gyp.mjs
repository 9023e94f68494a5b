// Where node-gyp and the Node headers are on this machine, for the two native builds of the
// postinstall (scripts/fuse-native/patch.mjs and scripts/rocksdb-write/build.mjs). Offline first:
// npm's own node-gyp, and the headers installed with Node when their major version matches.

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The path of node-gyp's bin script, or null. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    const npmCli = fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
    candidates.push(path.join(path.dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch {}
  return candidates.find((c) => c && fs.existsSync(c)) ?? null;
}

/** Local Node headers for --nodedir: npm_config_nodedir, else <node prefix> when its include/node matches this Node's major; null otherwise. */
function findNodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const inc = path.join(prefix, 'include', 'node');
  if (!fs.existsSync(path.join(inc, 'common.gypi')) || !fs.existsSync(path.join(inc, 'node_api.h'))) return null;
  try {
    const h = fs.readFileSync(path.join(inc, 'node_version.h'), 'utf8');
    const major = /#define NODE_MAJOR_VERSION (\d+)/.exec(h)?.[1];
    if (major !== process.versions.node.split('.')[0]) return null;
  } catch {
    return null;
  }
  return prefix;
}

/** node-gyp's arguments for `rebuild` in the current folder: [script, ...args]; throws when node-gyp is missing. */
export function nodeGypRebuildArgs() {
  const gyp = findNodeGyp();
  if (!gyp) throw new Error('node-gyp not found (npm ships it); install npm or add node-gyp as a devDependency');
  const nodedir = findNodedir();
  return [gyp, 'rebuild', '--jobs=max', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
}
