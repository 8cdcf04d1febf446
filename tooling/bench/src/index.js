'use strict';
// Benchmark helpers: every gptlab bench prints one JSON object per line, with the machine it ran on and
// whether other processes were using the CPU at the time (a figure taken under load is not a clean one).
const os = require('node:os');
const fs = require('node:fs');

/** CPU time of other processes, as a fraction of a core, sampled over `ms` milliseconds (Linux /proc/stat). */
function othersCores(ms = 200) {
  const read = () => {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = line[3] + (line[4] || 0);
    const total = line.reduce((a, b) => a + b, 0);
    return { idle, total };
  };
  try {
    const self0 = process.cpuUsage();
    const a = read();
    const end = Date.now() + ms;
    while (Date.now() < end) {
      /* busy-wait is avoided: sleep via Atomics */ Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
    const b = read();
    const self = process.cpuUsage(self0);
    const ticks = b.total - a.total;
    if (ticks <= 0) return 0;
    const busy = (ticks - (b.idle - a.idle)) / ticks; // fraction of all cores
    const selfCores = (self.user + self.system) / 1000 / ms;
    return Math.max(0, busy * os.cpus().length - selfCores);
  } catch {
    return null;
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0] ? cpus[0].model : 'unknown',
    cores: cpus.length,
    node: process.version,
    others_cores: othersCores(),
  };
}

/** Times `fn` (sync or async): `warmup` untimed runs, then `iters` timed; returns seconds per run (median and min). */
async function time(fn, { warmup = 1, iters = 5, minSeconds = 0 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const samples = [];
  const start = performance.now();
  for (let i = 0; i < iters || (performance.now() - start) / 1000 < minSeconds; i++) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / 1000);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], min: samples[0], runs: samples.length };
}

/** Prints one JSON line. */
function emit(record) {
  process.stdout.write(JSON.stringify(record) + '\n');
}

/** Minimal `--flag value` / `--flag` parser for bench scripts. */
function parseFlags(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[key] = true;
    else {
      out[key] = next;
      i++;
    }
  }
  return out;
}

module.exports = { machine, othersCores, time, emit, parseFlags };
