// Where node-gyp and the Node headers are on this machine, for the native builds of the postinstall
// (scripts/fuse-native/patch.mjs, scripts/rocksdb-write/build.mjs, scripts/block-io/build.mjs).
// Offline first: npm's own node-gyp, and the headers installed with Node when their major version
// matches. Also the build-and-check routine of the two addons of our own.

import { execFileSync, spawnSync } from 'node:child_process';
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

/**
 * Builds the addon in `dir` with node-gyp unless it is newer than all its `sources` and passes its
 * check; then runs `checkScript <addon>` in a child process (a crash there is a failed check, not
 * ours), and removes an addon that fails it. With `checkOnly`, builds nothing. Exits 1 on failure.
 */
export function buildCheckedAddon({ label, dir, addon, sources, checkScript, checkOnly }) {
  const log = (msg) => console.log(`[${label}] ${msg}`);
  const fail = (msg) => {
    console.error(`[${label}] ERROR: ${msg}`);
    process.exit(1);
  };
  const check = () => {
    const r = spawnSync(process.execPath, [checkScript, addon], { encoding: 'utf8' });
    return r.status === 0 ? { ok: true, detail: r.stdout.trim() } : { ok: false, detail: (r.stderr || r.stdout || `exit ${r.status ?? r.signal}`).trim() };
  };
  const upToDate = fs.existsSync(addon) && sources.every((source) => fs.statSync(source).mtimeMs <= fs.statSync(addon).mtimeMs);
  if (checkOnly || upToDate) {
    const result = fs.existsSync(addon) ? check() : { ok: false, detail: `${addon} is not built` };
    if (result.ok) {
      log(`${checkOnly ? 'OK' : 'up to date'}: ${result.detail}`);
      return;
    }
    if (checkOnly) fail(`${result.detail}; run node ${path.relative(process.cwd(), path.join(dir, 'build.mjs'))}`);
  }
  let gypArgs;
  try {
    gypArgs = nodeGypRebuildArgs();
  } catch (err) {
    fail(err.message);
  }
  const started = Date.now();
  const r = spawnSync(process.execPath, gypArgs, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(r.stdout);
    console.error(r.stderr);
    fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal})`);
  }
  const result = check();
  if (!result.ok) {
    fs.rmSync(addon, { force: true });
    fail(`the built addon failed its check, and was removed: ${result.detail}`);
  }
  log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.detail}`);
}
