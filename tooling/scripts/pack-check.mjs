#!/usr/bin/env node
// What a user gets from npm, checked before anyone publishes: packs every published workspace package with
// `pnpm pack` (which turns `workspace:` ranges into versions), checks each tarball's contents, installs all the
// tarballs with npm into a clean project outside the repository (third-party dependencies, TensorFlow.js peers
// included, come from the npm registry; nothing else is fetched), and runs each package README's first example
// there, exactly as the README shows it:
//   - a library (no `bin`): the README's first ```ts or ```js block, type-checked (tsc --strict against the
//     packed .d.ts files) and run with tsx as an ES module;
//   - a CLI (`bin` in package.json): the README's first ```sh block, run with bash -euo pipefail.
// Each example runs in its own directory, work/<package>/, whose node_modules is the project's.
//
//   node tooling/scripts/pack-check.mjs [--only NAME,...] [--keep] [--no-build]
//     --only      check these packages (short names: tokenizer, trainer, …; all published ones by default)
//     --keep      keep the temporary project and print its path
//     --no-build  skip the (cached) turbo build that runs first
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLE_TIMEOUT_S = 600;
// Packages the examples themselves use, installed next to the tarballs (the READMEs say so in their text).
const EXAMPLE_DEPS = ['tsx@^4.20.0', 'typescript@5.9.3', '@types/node@^20.19.0', 'gpt-3-encoder@1.1.4'];
// How a user's strict TypeScript project compiles the examples.
const TSC_FLAGS = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
// Never shipped: tests, fixtures, build trees and the addon compiled on this machine (tensor-native builds its
// own at install time from csrc/ + binding.gyp).
const FORBIDDEN = [
  /(^|\/)(test|tests|__tests__|fixtures|test-artifacts|bench|node_modules|\.turbo|coverage|build)\//,
  /\.(test|spec)\.[cm]?[jt]s$/,
  /(^|\/)(tsconfig[^/]*\.json|jest\.config\.[cm]?js|tsup\.config\.ts|eslint\.config\.[cm]?js)$/,
];
const ALWAYS = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'];
// Files a package needs beyond what its package.json points at.
const EXTRA_REQUIRED = {
  '@gptlab/tensor-native': ['binding.gyp', 'scripts/build-native.cjs', 'csrc/'],
  '@gptlab/playground': ['dist/ui/index.html'],
};

class CheckError extends Error {}

function parseArgs(argv) {
  const opts = { only: null, keep: false, build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') opts.keep = true;
    else if (a === '--no-build') opts.build = false;
    else if (a === '--only' && argv[i + 1]) opts.only = argv[++i].split(',').map((s) => s.trim().replace(/^@gptlab\//, ''));
    else if (a === '-h' || a === '--help') {
      console.log('usage: node tooling/scripts/pack-check.mjs [--only NAME,...] [--keep] [--no-build]');
      process.exit(0);
    } else throw new CheckError(`unknown argument ${JSON.stringify(a)} (usage: [--only NAME,...] [--keep] [--no-build])`);
  }
  return opts;
}

function run(cmd, args, { cwd, env, timeoutS, what }) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: timeoutS ? timeoutS * 1000 : undefined,
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error || r.status !== 0) {
    const why = r.error?.code === 'ETIMEDOUT' ? `timed out after ${timeoutS}s` : r.error ? r.error.message : `exit ${r.status}`;
    throw new CheckError(`${what}: ${why}\n${tail(output, 40)}`);
  }
  return output;
}

/** The last lines of a command's output, each cut to 300 characters (an uncaught error in tfjs-wasm prints its whole one-line bundle). */
function tail(text, lines) {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => (l.length > 300 ? `${l.slice(0, 300)} …` : l))
    .join('\n');
}

/** Published workspace packages (packages/* and apps/*, not private), dependencies first. */
function publishedPackages() {
  const out = [];
  for (const group of ['packages', 'apps']) {
    for (const name of fs.readdirSync(path.join(ROOT, group)).sort()) {
      const dir = path.join(ROOT, group, name);
      const file = path.join(dir, 'package.json');
      if (!fs.existsSync(file)) continue;
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (!pkg.private) out.push({ dir, short: name, pkg });
    }
  }
  return out;
}

/** Every file path a package.json points at (main, module, types, bin, exports targets). */
function pointedFiles(pkg) {
  const files = new Set();
  const add = (v) => {
    if (typeof v === 'string') {
      if (v.startsWith('./') || !v.includes(':')) files.add(path.posix.normalize(v));
    } else if (v && typeof v === 'object') Object.values(v).forEach(add);
  };
  for (const field of ['main', 'module', 'types', 'bin']) add(pkg[field]);
  add(pkg.exports);
  return [...files].filter((f) => !f.includes('*'));
}

/** Packs one package and checks the tarball; returns its path and file count. */
function packAndInspect({ dir, pkg }, dest) {
  const before = new Set(fs.readdirSync(dest));
  run('pnpm', ['pack', '--pack-destination', dest], { cwd: dir, what: `${pkg.name}: pnpm pack` });
  const made = fs.readdirSync(dest).filter((f) => f.endsWith('.tgz') && !before.has(f));
  if (made.length !== 1) throw new CheckError(`${pkg.name}: pnpm pack made ${made.length} tarballs in ${dest}`);
  const tarball = path.join(dest, made[0]);
  const entries = run('tar', ['-tzf', tarball], { what: `${pkg.name}: tar -tzf` })
    .split('\n')
    .filter(Boolean)
    .map((e) => e.replace(/^package\//, ''));
  const problems = [];
  for (const e of entries) if (FORBIDDEN.some((re) => re.test(e))) problems.push(`ships ${e}`);
  const have = new Set(entries);
  for (const f of [...ALWAYS, ...pointedFiles(pkg), ...(EXTRA_REQUIRED[pkg.name] ?? [])]) {
    const ok = f.endsWith('/') ? entries.some((e) => e.startsWith(f)) : have.has(f);
    if (!ok) problems.push(`lacks ${f}`);
  }
  const packed = run('tar', ['-xzOf', tarball, 'package/package.json'], { what: `${pkg.name}: read packed package.json` });
  if (packed.includes('workspace:')) problems.push('its package.json still has workspace: ranges');
  // Each package keeps a copy of the root LICENSE (npm ships only files inside the package directory).
  if (have.has('LICENSE')) {
    const license = run('tar', ['-xzOf', tarball, 'package/LICENSE'], { what: `${pkg.name}: read packed LICENSE` });
    if (license !== fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')) problems.push('LICENSE differs from the root LICENSE');
  }
  if (problems.length) throw new CheckError(`${pkg.name}: tarball ${path.basename(tarball)} ${problems.join('; ')}`);
  return { tarball, files: entries.length };
}

/** The README's first example: a ```sh block for CLIs, else the first ```ts/```js block. */
function firstExample({ dir, pkg }) {
  const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  const langs = pkg.bin ? ['sh', 'bash'] : ['ts', 'js', 'typescript', 'javascript'];
  for (const m of readme.matchAll(/^```([A-Za-z]*)[^\n]*\n([\s\S]*?)^```\s*$/gm)) {
    if (langs.includes(m[1])) return { kind: pkg.bin ? 'sh' : 'ts', code: m[2] };
  }
  throw new CheckError(`${pkg.name}: README.md has no \`\`\`${langs[0]} block to run`);
}

function nodeHeadersDir() {
  // node-gyp (tensor-native's install script, better-sqlite3's fallback build) would download Node's headers
  // unless it is pointed at the ones installed with Node.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi')) ? prefix : undefined;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  let packages = publishedPackages();
  if (opts.only) {
    const unknown = opts.only.filter((n) => !packages.some((p) => p.short === n));
    if (unknown.length)
      throw new CheckError(`--only: no published package ${unknown.join(', ')} (have: ${packages.map((p) => p.short).join(', ')})`);
  }
  const started = Date.now();
  if (opts.build) {
    console.log('pack-check: building (turbo, cached)');
    run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: ROOT, what: 'turbo build' });
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gptlab-pack-'));
  const tarballs = path.join(tmp, 'tarballs');
  const project = path.join(tmp, 'project');
  fs.mkdirSync(tarballs);
  fs.mkdirSync(project);
  const failures = [];
  try {
    // Every tarball is packed and installed (a package's examples need its dependencies), only the chosen
    // packages' examples run.
    const packed = new Map();
    for (const p of packages) {
      const { tarball, files } = packAndInspect(p, tarballs);
      packed.set(p.pkg.name, tarball);
      console.log(
        `pack-check: ${p.pkg.name}: ${path.basename(tarball)} (${files} files, ${(fs.statSync(tarball).size / 1024).toFixed(0)} KiB)`,
      );
    }
    run('npm', ['init', '-y'], { cwd: project, what: 'npm init' });
    const env = { npm_config_nodedir: nodeHeadersDir(), npm_config_yes: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    if (!env.npm_config_nodedir) delete env.npm_config_nodedir;
    console.log(`pack-check: npm install of ${packed.size} tarballs into ${project}`);
    run('npm', ['install', '--no-package-lock', ...packed.values(), ...EXAMPLE_DEPS], {
      cwd: project,
      env,
      timeoutS: 1200,
      what: 'npm install of the tarballs',
    });
    if (opts.only) packages = packages.filter((p) => opts.only.includes(p.short));
    const bin = path.join(project, 'node_modules', '.bin');
    for (const p of packages) {
      const t0 = Date.now();
      try {
        const { kind, code } = firstExample(p);
        const work = path.join(project, 'work', p.short);
        fs.mkdirSync(work, { recursive: true });
        fs.symlinkSync(path.join(project, 'node_modules'), path.join(work, 'node_modules'), 'dir');
        const file = path.join(work, kind === 'sh' ? 'example.sh' : 'example.mts');
        fs.writeFileSync(file, code);
        if (kind === 'ts') {
          run(path.join(bin, 'tsc'), [...TSC_FLAGS, '--types', 'node', '--skipLibCheck', file], {
            cwd: work,
            what: `${p.pkg.name}: the README's first example (${path.relative(project, file)}) does not type-check`,
          });
        }
        const [cmd, args] = kind === 'sh' ? ['bash', ['-euo', 'pipefail', file]] : [path.join(bin, 'tsx'), [file]];
        const out = run(cmd, args, {
          cwd: work,
          env: { ...env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
          timeoutS: EXAMPLE_TIMEOUT_S,
          what: `${p.pkg.name}: the README's first example (${path.relative(project, file)}) failed`,
        });
        console.log(`pack-check: ${p.pkg.name}: README example ok (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
        if (out.trim()) console.log(tail(out, 4).replace(/^/gm, '    '));
      } catch (e) {
        if (!(e instanceof CheckError)) throw e;
        failures.push(p.pkg.name);
        console.error(`pack-check: FAILED ${e.message}`);
      }
    }
  } finally {
    if (opts.keep) console.log(`pack-check: kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  if (failures.length) {
    console.error(`pack-check: FAILED for ${failures.join(', ')} (${secs}s)`);
    process.exit(1);
  }
  console.log(`pack-check: ${packages.length} packages installed from their tarballs and ran their README's first example (${secs}s)`);
}

try {
  main();
} catch (e) {
  if (!(e instanceof CheckError)) throw e;
  console.error(`pack-check: ${e.message}`);
  process.exit(1);
}
