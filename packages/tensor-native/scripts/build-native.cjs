#!/usr/bin/env node
// Builds the N-API addon (build/Release/gptlab_native.node) with node-gyp and the machine's C++ compiler.
// Never fails the surrounding build: without a compiler, node-gyp or Node headers it prints why and leaves no
// addon behind, and @gptlab/tensor then runs on plain tfjs ("native addon not built").
// node-gyp runs in a private staging folder (build/.staging-<pid>) and the finished addon is renamed into place:
// a `node-gyp rebuild` in the package itself deletes build/ for the whole compile, so a test or a second build
// running meanwhile would find no addon (the native suites then skip) or race on the object files.
//   node scripts/build-native.cjs             rebuild
//   node scripts/build-native.cjs --if-missing  only when no addon is built yet (the install hook)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const addon = path.join(root, 'build', 'Release', 'gptlab_native.node');

function log(msg) {
  process.stderr.write(`[@gptlab/tensor-native] ${msg}\n`);
}

function findNodeGyp() {
  const candidates = [];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }));
  } catch {
    /* not a dependency here */
  }
  // npm bundles node-gyp next to itself.
  const npmDirs = [path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')];
  if (process.env.npm_execpath) npmDirs.push(path.resolve(path.dirname(process.env.npm_execpath), '..'));
  const r = spawnSync('npm', ['prefix', '-g'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) npmDirs.push(path.join(r.stdout.trim(), 'lib', 'node_modules', 'npm'));
  for (const d of npmDirs) candidates.push(path.join(d, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => fs.existsSync(c));
}

function nodeDir() {
  // Use installed Node headers when present, so no download is needed (node-gyp would fetch them otherwise).
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (
    fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) &&
    fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))
  ) {
    return prefix;
  }
  return undefined;
}

function main() {
  if (process.env.GPTLAB_NATIVE_BUILD === '0') {
    log('GPTLAB_NATIVE_BUILD=0: addon not built');
    return;
  }
  if (process.argv.includes('--if-missing') && fs.existsSync(addon)) return;
  const gyp = findNodeGyp();
  if (!gyp) {
    log('node-gyp not found (install npm or add node-gyp); addon not built, @gptlab/tensor stays on plain tfjs');
    return;
  }
  const staging = path.join(root, 'build', `.staging-${process.pid}`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(staging, 'binding.gyp'));
  fs.cpSync(path.join(root, 'csrc'), path.join(staging, 'csrc'), { recursive: true });
  try {
    build(gyp, staging);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function build(gyp, staging) {
  const args = [gyp, 'rebuild'];
  const dir = nodeDir();
  if (dir) args.push(`--nodedir=${dir}`);
  args.push(`--jobs=${Math.max(1, Math.min(3, require('node:os').cpus().length))}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: staging, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const built = path.join(staging, 'build', 'Release', 'gptlab_native.node');
  if (r.status !== 0 || !fs.existsSync(built)) {
    const out = `${r.stdout || ''}${r.stderr || ''}`.trim().split('\n').slice(-15).join('\n');
    log(`native build failed (exit ${r.status}${r.error ? ', ' + r.error.message : ''}); @gptlab/tensor stays on plain tfjs:\n${out}`);
    // No stale addon from older sources stays behind (its exports would not match the TypeScript side).
    fs.rmSync(addon, { force: true });
    return;
  }
  fs.mkdirSync(path.dirname(addon), { recursive: true });
  const tmp = `${addon}.${process.pid}.tmp`;
  fs.copyFileSync(built, tmp);
  fs.renameSync(tmp, addon);
  log(`built ${path.relative(root, addon)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (e) {
  log(`native build skipped: ${e && e.message ? e.message : e}`);
}
