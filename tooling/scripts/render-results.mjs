#!/usr/bin/env node
// Results tables in READMEs come from the results files the experiment scripts write, never by hand. A README
// marks a block
//   <!-- results: docs/results/<name>.json#<table> -->
//   ...generated...
//   <!-- /results -->
// and the text between the markers is generated from the results file (path relative to the repository root):
// a provenance line (command, seeds, wall time, machine), the table's markdown and its note.
//   node tooling/scripts/render-results.mjs           rewrites every block of README.md, apps/*/README.md and
//                                                      packages/*/README.md from its results file
//   node tooling/scripts/render-results.mjs --check   changes nothing; exits 1 naming each block that differs
//   --only docs/results/<name>.json                    only the blocks of that results file (what an experiment
//                                                      script runs after writing it); --root DIR: another tree
// Results file shape (the shared contract): {"command", "seeds", "wall_s", "machine",
//   "tables": {"<table>": {"columns": [...], "rows": [[...]], "note"?: "..."}}, ...raw data}.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Markers stand on lines of their own (a marker quoted inside a sentence or inline code is not one).
const OPEN = /^<!-- results: ([^#\s]+)#(\S+) -->$/gm;
const CLOSE = '<!-- /results -->';

/**
 * A table cell: numbers with at most 4 significant digits (integers whole below 10^9, larger ones — FLOP
 * counts — as 1.34e+12), null as a dash.
 */
export function formatCell(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Math.abs(v) >= 1e9) return v.toPrecision(3);
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  }
  return String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The generated text of one block (without the markers). */
export function renderTable(results, table, where) {
  const t = results.tables?.[table];
  if (!t)
    throw new Error(
      `${where}: no table "${table}" in its results file (tables: ${Object.keys(results.tables ?? {}).join(', ') || 'none'})`,
    );
  if (!Array.isArray(t.columns) || !Array.isArray(t.rows)) throw new Error(`${where}: table "${table}" needs "columns" and "rows" arrays`);
  t.rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== t.columns.length)
      throw new Error(`${where}: table "${table}" row ${i} has ${Array.isArray(r) ? r.length : 'no'} cells, expected ${t.columns.length}`);
  });
  const seeds = Array.isArray(results.seeds) ? results.seeds.join(', ') : '–';
  const wall = typeof results.wall_s === 'number' ? `${Math.round(results.wall_s)} s` : '–';
  const lines = [
    `_Generated from ${where.split(' ')[0]} by \`node tooling/scripts/render-results.mjs\` — command: \`${results.command ?? '–'}\`; ` +
      `seeds: ${seeds}; wall time: ${wall}; machine: ${results.machine ?? '–'}._`,
    '',
    `| ${t.columns.map(formatCell).join(' | ')} |`,
    `|${t.columns.map(() => '---').join('|')}|`,
    ...t.rows.map((r) => `| ${r.map(formatCell).join(' | ')} |`),
  ];
  if (t.note) lines.push('', String(t.note));
  return lines.join('\n');
}

/**
 * `readmeText` with every results block regenerated from its results file (resolved against `root`).
 * Returns { text, blocks: [{ spec, line, changed }] }; a missing file, table or closing marker is an error
 * naming `name` (the README) and the block's line. With `only` (a results path), other files' blocks are left alone.
 */
export function renderBlocks(readmeText, root, name = 'README.md', only = undefined) {
  const out = [];
  const blocks = [];
  let pos = 0;
  for (const m of readmeText.matchAll(OPEN)) {
    if (m.index < pos) continue;
    const line = readmeText.slice(0, m.index).split('\n').length;
    if (only !== undefined && m[1] !== only) continue; // --only FILE: other files' blocks stay as they are
    const spec = `${m[1]}#${m[2]}`;
    const where = `${m[1]} (${name}:${line})`;
    const bodyStart = m.index + m[0].length;
    const close = readmeText.slice(bodyStart).search(/^<!-- \/results -->$/m);
    const end = close < 0 ? -1 : bodyStart + close;
    const nextOpen = readmeText.slice(bodyStart).search(/^<!-- results: /m);
    if (end < 0 || (nextOpen >= 0 && bodyStart + nextOpen < end)) throw new Error(`${name}:${line}: block ${spec} has no closing ${CLOSE}`);
    const file = path.join(root, m[1]);
    if (!existsSync(file)) throw new Error(`${name}:${line}: results file ${m[1]} does not exist (run the experiment that writes it)`);
    let results;
    try {
      results = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${name}:${line}: ${m[1]} is not valid JSON: ${e.message}`);
    }
    const body = `\n${renderTable(results, m[2], where)}\n`;
    blocks.push({ spec, line, changed: readmeText.slice(bodyStart, end) !== body });
    out.push(readmeText.slice(pos, bodyStart), body);
    pos = end;
  }
  out.push(readmeText.slice(pos));
  return { text: out.join(''), blocks };
}

/** The READMEs that may hold blocks: the root's, apps/*'s and packages/*'s. */
export function readmeFiles(root) {
  const files = [path.join(root, 'README.md')];
  for (const dir of ['apps', 'packages']) {
    const base = path.join(root, dir);
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base).sort()) {
      const f = path.join(base, d, 'README.md');
      if (existsSync(f)) files.push(f);
    }
  }
  return files.filter((f) => existsSync(f));
}

function main(argv) {
  const opt = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const given = opt('--root'); // another tree (tests); the repository by default
  const root = given ? path.resolve(given) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const only = opt('--only');
  const check = argv.includes('--check');
  let stale = 0;
  let failed = 0;
  // Each README on its own: a broken block (a results file another experiment has not written yet) is reported
  // and the other READMEs are still checked or rendered.
  for (const file of readmeFiles(root)) {
    const name = path.relative(root, file);
    const text = readFileSync(file, 'utf8');
    let r;
    try {
      r = renderBlocks(text, root, name, only);
    } catch (e) {
      failed++;
      console.error(`render-results: ${e.message}`);
      continue;
    }
    for (const b of r.blocks.filter((x) => x.changed)) {
      stale++;
      console.error(`${name}:${b.line}: results block ${b.spec} ${check ? 'differs from its results file' : 'regenerated'}`);
    }
    if (!check && r.text !== text) {
      writeFileSync(`${file}.tmp`, r.text); // atomic: a reader never sees half a README
      renameSync(`${file}.tmp`, file);
    }
  }
  if (check && stale) console.error(`${stale} results block(s) out of date: run node tooling/scripts/render-results.mjs`);
  return (check && stale) || failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    console.error(`render-results: ${e.message}`);
    process.exitCode = 1;
  }
}
