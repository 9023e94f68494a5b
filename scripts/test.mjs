#!/usr/bin/env node
// Runs the uvu suites and fails unless every test ran and passed. uvu alone reports a suite whose
// `before` hook threw as "(0 / N)" and still exits 0; this wrapper compares its totals instead.
//   node scripts/test.mjs [folder under dist/test] [file pattern]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2] ?? 'dist/test';
const pattern = process.argv[3] ?? '\\.test\\.js$';
const uvu = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const child = spawn(process.execPath, [uvu, dir, pattern], { stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  output += chunk.toString();
});
const code = await new Promise((resolve) => child.on('close', resolve));
const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
const count = (label) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain)?.[1] ?? NaN);
const total = count('Total');
const passed = count('Passed');
const skipped = count('Skipped');
if (!Number.isFinite(total) || !Number.isFinite(passed)) {
  console.log('0 passed, 1 failed');
  console.error('scripts/test.mjs: uvu printed no totals');
  process.exit(1);
}
const failed = total - passed - (skipped || 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (failed > 0 && code === 0) console.error(`scripts/test.mjs: ${failed} test(s) never ran: a suite's setup hook failed (see the "(n / m)" lines above)`);
process.exit(failed > 0 || code !== 0 ? 1 : 0);
