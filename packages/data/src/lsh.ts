import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

// 10-point Gauss–Legendre nodes/weights on [-1, 1], used in composite form (the integrands are polynomials of
// degree ≤ numPerm in s; 16 panels × 10 points integrate them to ~1e-12).
const GL_X = [
  -0.9739065285171717, -0.8650633666889845, -0.6794095682990244, -0.4333953941292472, -0.1488743389816312, 0.1488743389816312,
  0.4333953941292472, 0.6794095682990244, 0.8650633666889845, 0.9739065285171717,
];
const GL_W = [
  0.0666713443086881, 0.1494513491505806, 0.219086362515982, 0.2692667143759149, 0.2955242247147529, 0.2955242247147529, 0.2692667143759149,
  0.219086362515982, 0.1494513491505806, 0.0666713443086881,
];

function integrate(f: (s: number) => number, a: number, b: number, panels = 16): number {
  if (b <= a) return 0;
  const h = (b - a) / panels;
  let sum = 0;
  for (let p = 0; p < panels; p++) {
    const mid = a + (p + 0.5) * h;
    for (let i = 0; i < 10; i++) sum += GL_W[i]! * f(mid + 0.5 * h * GL_X[i]!);
  }
  return sum * 0.5 * h;
}

/** ∫_0^t P(candidate | s) ds: the false-positive "area" of LSH with b bands of r rows (datasketch). */
export function lshFalsePositive(threshold: number, bands: number, rows: number): number {
  return integrate((s) => 1 - Math.pow(1 - Math.pow(s, rows), bands), 0, threshold);
}

/** ∫_t^1 P(not candidate | s) ds: the false-negative area. */
export function lshFalseNegative(threshold: number, bands: number, rows: number): number {
  return integrate((s) => Math.pow(1 - Math.pow(s, rows), bands), threshold, 1);
}

/** Probability that a pair with Jaccard `s` becomes a candidate: 1 − (1 − s^r)^b. */
export function lshCandidateProbability(s: number, bands: number, rows: number): number {
  return 1 - Math.pow(1 - Math.pow(s, rows), bands);
}

export interface LshParams {
  bands: number;
  rows: number;
  falsePositive: number;
  falseNegative: number;
}

/**
 * LSH bands × rows for a Jaccard threshold, minimising fpWeight·FP + fnWeight·FN over all b·r ≤ numPerm
 * (the grid search of datasketch's `_optimal_param`, same integrals and tie-breaking).
 */
export function optimalLshParams(threshold: number, numPerm = 128, fpWeight = 0.5, fnWeight = 0.5): LshParams {
  if (!(threshold >= 0 && threshold <= 1)) throw new Error(`threshold must be in [0, 1], got ${threshold}`);
  if (!Number.isInteger(numPerm) || numPerm < 2) throw new Error(`numPerm must be an integer ≥ 2, got ${numPerm}`);
  if (fpWeight < 0 || fnWeight < 0 || fpWeight + fnWeight <= 0) throw new Error('LSH weights must be non-negative and not both 0');
  let best: LshParams = { bands: 0, rows: 0, falsePositive: 0, falseNegative: 0 };
  let minErr = Infinity;
  for (let b = 1; b <= numPerm; b++) {
    const maxR = Math.floor(numPerm / b);
    for (let r = 1; r <= maxR; r++) {
      const fp = lshFalsePositive(threshold, b, r);
      const fn = lshFalseNegative(threshold, b, r);
      const err = fp * fpWeight + fn * fnWeight;
      if (err < minErr) {
        minErr = err;
        best = { bands: b, rows: r, falsePositive: fp, falseNegative: fn };
      }
    }
  }
  return best;
}

/** 53-bit band keys (two independent 32-bit hashes of the band's r values) for every band of a signature. */
export function bandKeys(sig: Uint32Array, off: number, bands: number, rows: number, out = new Float64Array(bands)): Float64Array {
  for (let b = 0; b < bands; b++) {
    let h1 = (0x3c6ef372 ^ Math.imul(b + 1, 0x9e3779b1)) | 0;
    let h2 = (0x1b873593 ^ Math.imul(b + 1, 0x85ebca6b)) | 0;
    const base = off + b * rows;
    for (let r = 0; r < rows; r++) {
      const v = sig[base + r]! | 0;
      h1 = (Math.imul((h1 << 15) | (h1 >>> 17), 0x2c1b3c6d) ^ v) | 0;
      h2 = (Math.imul((h2 << 13) | (h2 >>> 19), 0x297a2d39) + v) | 0;
    }
    h1 ^= h1 >>> 16;
    h1 = Math.imul(h1, 0x85ebca6b);
    h1 ^= h1 >>> 13;
    h2 ^= h2 >>> 15;
    h2 = Math.imul(h2, 0xc2b2ae35);
    h2 ^= h2 >>> 16;
    out[b] = (h1 & 0x1fffff) * 4294967296 + (h2 >>> 0);
  }
  return out;
}

/** Storage of the LSH buckets plus what verification needs (ids, shingle sets or signatures) for indexed docs. */
export interface LshIndex {
  readonly kind: 'memory' | 'sqlite';
  /** Indices of earlier documents sharing at least one band key (unique, ascending). */
  query(keys: Float64Array): number[];
  insert(doc: number, id: string, keys: Float64Array, shingles: Uint32Array | null, signature: Uint32Array | null): void;
  id(doc: number): string;
  shingles(doc: number): Uint32Array;
  signature(doc: number): Uint32Array;
  /** Runs `fn` in one transaction where the backend has them. */
  batch<T>(fn: () => T): T;
  close(): void;
}

/** In-memory LSH index: one Map per band from key to document(s). Keys are folded to 30-bit small integers
 * (unboxed in V8 Maps); a rare fold collision only adds a candidate, which verification then rejects. */
export class MemoryLshIndex implements LshIndex {
  readonly kind = 'memory' as const;
  private tables: Map<number, number | number[]>[];
  private ids: string[] = [];
  private sh: (Uint32Array | null)[] = [];
  private sigs: (Uint32Array | null)[] = [];
  constructor(readonly bands: number) {
    this.tables = Array.from({ length: bands }, () => new Map());
  }
  query(keys: Float64Array): number[] {
    const out: number[] = [];
    for (let b = 0; b < this.bands; b++) {
      const v = this.tables[b]!.get(keys[b]! & 0x3fffffff);
      if (v === undefined) continue;
      if (typeof v === 'number') out.push(v);
      else for (const d of v) out.push(d);
    }
    if (out.length <= 1) return out;
    out.sort((a, b) => a - b);
    let u = 1;
    for (let i = 1; i < out.length; i++) if (out[i] !== out[u - 1]) out[u++] = out[i]!;
    out.length = u;
    return out;
  }
  insert(doc: number, id: string, keys: Float64Array, shingles: Uint32Array | null, signature: Uint32Array | null): void {
    this.ids[doc] = id;
    this.sh[doc] = shingles;
    this.sigs[doc] = signature;
    for (let b = 0; b < this.bands; b++) {
      const t = this.tables[b]!;
      const k = keys[b]! & 0x3fffffff;
      const v = t.get(k);
      if (v === undefined) t.set(k, doc);
      else if (typeof v === 'number') t.set(k, [v, doc]);
      else v.push(doc);
    }
  }
  id(doc: number): string {
    return this.ids[doc]!;
  }
  shingles(doc: number): Uint32Array {
    return this.sh[doc]!;
  }
  signature(doc: number): Uint32Array {
    return this.sigs[doc]!;
  }
  batch<T>(fn: () => T): T {
    return fn();
  }
  close(): void {
    this.tables = [];
    this.sh = [];
    this.sigs = [];
  }
}

function toU32(buf: Buffer | null): Uint32Array {
  if (!buf) return new Uint32Array(0);
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new Uint32Array(copy.buffer, 0, buf.length >>> 2);
}

/**
 * LSH index in an embedded SQLite database (better-sqlite3), for corpora whose buckets and shingle sets do not
 * fit in memory. The database is a temporary file removed on close unless `path` is given.
 */
export class SqliteLshIndex implements LshIndex {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  private db: any;
  private readonly keep: boolean;
  private stInsBand: any;
  private stInsDoc: any;
  private stQuery: any;
  private stDoc: any;
  private stSig: any;
  private stId: any;
  constructor(
    readonly bands: number,
    opts: { path?: string } = {},
  ) {
    const req = createRequire(__filename);
    let Database: any;
    try {
      Database = req('better-sqlite3');
    } catch (e) {
      throw new Error(`the sqlite LSH index needs better-sqlite3 (npm i better-sqlite3@12): ${(e as Error).message}`);
    }
    this.keep = opts.path !== undefined;
    this.path = opts.path ?? path.join(os.tmpdir(), `gptlab-lsh-${process.pid}-${randomBytes(4).toString('hex')}.sqlite`);
    if (this.keep) fs.mkdirSync(path.dirname(path.resolve(this.path)), { recursive: true });
    this.db = new Database(this.path);
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -65536');
    this.db.exec(`
      DROP TABLE IF EXISTS lsh_band; DROP TABLE IF EXISTS lsh_doc;
      CREATE TABLE lsh_band (b INTEGER NOT NULL, k INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (b, k, doc)) WITHOUT ROWID;
      CREATE TABLE lsh_doc (doc INTEGER PRIMARY KEY, id TEXT NOT NULL, sh BLOB, sig BLOB);`);
    this.stInsBand = this.db.prepare('INSERT OR IGNORE INTO lsh_band (b, k, doc) VALUES (?, ?, ?)');
    this.stInsDoc = this.db.prepare('INSERT INTO lsh_doc (doc, id, sh, sig) VALUES (?, ?, ?, ?)');
    this.stQuery = this.db.prepare('SELECT doc FROM lsh_band WHERE b = ? AND k = ?').pluck();
    this.stDoc = this.db.prepare('SELECT sh FROM lsh_doc WHERE doc = ?').pluck();
    this.stSig = this.db.prepare('SELECT sig FROM lsh_doc WHERE doc = ?').pluck();
    this.stId = this.db.prepare('SELECT id FROM lsh_doc WHERE doc = ?').pluck();
  }
  query(keys: Float64Array): number[] {
    const set = new Set<number>();
    for (let b = 0; b < this.bands; b++) for (const d of this.stQuery.all(b, keys[b]) as number[]) set.add(d);
    return [...set].sort((a, b) => a - b);
  }
  insert(doc: number, id: string, keys: Float64Array, shingles: Uint32Array | null, signature: Uint32Array | null): void {
    const blob = (a: Uint32Array | null) => (a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : null);
    this.stInsDoc.run(doc, id, blob(shingles), blob(signature));
    for (let b = 0; b < this.bands; b++) this.stInsBand.run(b, keys[b], doc);
  }
  id(doc: number): string {
    return this.stId.get(doc) as string;
  }
  shingles(doc: number): Uint32Array {
    return toU32(this.stDoc.get(doc) as Buffer | null);
  }
  signature(doc: number): Uint32Array {
    return toU32(this.stSig.get(doc) as Buffer | null);
  }
  batch<T>(fn: () => T): T {
    return this.db.transaction(fn)() as T;
  }
  close(): void {
    if (!this.db) return;
    this.db.close();
    this.db = null;
    if (!this.keep) fs.rmSync(this.path, { force: true });
  }
}

/** Union-find over document indices; the root of a cluster is always its earliest (smallest) index. */
export class UnionFind {
  private parent = new Int32Array(1024);
  private n = 0;
  add(): number {
    if (this.n === this.parent.length) {
      const p = new Int32Array(this.parent.length * 2);
      p.set(this.parent);
      this.parent = p;
    }
    this.parent[this.n] = this.n;
    return this.n++;
  }
  get size(): number {
    return this.n;
  }
  find(x: number): number {
    let r = x;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[x] !== r) {
      const next = this.parent[x]!;
      this.parent[x] = r;
      x = next;
    }
    return r;
  }
  /** Merges the clusters of a and b; returns the new root (the smaller of the two roots). */
  union(a: number, b: number): number {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return ra;
    const [lo, hi] = ra < rb ? [ra, rb] : [rb, ra];
    this.parent[hi] = lo;
    return lo;
  }
}
