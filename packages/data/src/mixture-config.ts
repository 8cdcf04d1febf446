// Mixture files for `data prepare --mixture`: which sources, their weights in the training mix, which stages
// each one goes through (GPT-3 filtered only Common Crawl with the quality classifier), and the budget. The
// `gpt3` preset mirrors GPT-3's Table 2.2 with the sources that ship: the crawl-like source for Common Crawl,
// Brown's press and popular writing for WebText2, Brown's fiction for Books1, its learned and belles-lettres
// prose for Books2, and WordNet's glosses for Wikipedia.
import * as fs from 'node:fs';
import type { MixtureOptions } from './mixture';
import type { SourceInput, StageOptions } from './pipeline';
import { DataInputError } from './errors';

export const STAGE_NAMES = ['normalize', 'filter', 'exact-dedup', 'near-dedup', 'quality'] as const;
export type StageName = (typeof STAGE_NAMES)[number];
const DEFAULT_STAGES: StageName[] = ['normalize', 'filter', 'exact-dedup', 'near-dedup'];

export interface MixtureFileSource {
  name?: string;
  /** A source spec (see sourceFromSpec). */
  source: string;
  /** Share of the training tokens (normalised over the sources). */
  weight: number;
  /** Epochs GPT-3-style tables expect (informational: shown next to the epochs actually taken). */
  epochs?: number;
  /** Stages this source goes through (default: all but quality). */
  stages?: StageName[];
}

export interface MixtureFile {
  /** Start from a preset ('gpt3'); the fields given here replace the preset's. */
  preset?: 'gpt3';
  sources?: MixtureFileSource[];
  /** Budget: tokens (default), documents or UTF-8 bytes drawn in total. */
  total?: { tokens?: number; docs?: number; bytes?: number };
  /** The quality classifier for the sources that list the 'quality' stage, and GPT-3's Pareto α (9). */
  quality?: { model?: string; alpha?: number; mode?: 'pareto' | 'threshold'; threshold?: number; seed?: number };
  /** Near-duplicate Jaccard threshold (default 0.8). */
  threshold?: number;
  seed?: number;
  /** 'deficit' (default: shares within one document of the weights) or 'random' (GPT-3's sampling). */
  schedule?: 'deficit' | 'random';
}

/** GPT-3 Table 2.2 with shipped stand-ins (weights as in the paper; they sum to 1.01 there too). */
export const GPT3_MIXTURE: Required<Pick<MixtureFile, 'sources' | 'total'>> & MixtureFile = {
  sources: [
    { name: 'common-crawl', source: 'crawl:20000', weight: 0.6, epochs: 0.44, stages: [...DEFAULT_STAGES, 'quality'] },
    { name: 'webtext2', source: 'brown:news,editorial,reviews,religion,hobbies,government', weight: 0.22, epochs: 2.9 },
    { name: 'books1', source: 'brown:fiction,mystery,science_fiction,adventure,romance,humor', weight: 0.08, epochs: 1.9 },
    { name: 'books2', source: 'brown:lore,belles_lettres,learned', weight: 0.08, epochs: 0.43 },
    { name: 'wikipedia', source: 'wordnet', weight: 0.03, epochs: 3.4 },
  ],
  total: { tokens: 2_000_000 },
  quality: { alpha: 9 },
};

export interface ResolvedMixture {
  sources: SourceInput[];
  mixture: MixtureOptions;
  /** Expected epochs per source name (from the file). */
  expectedEpochs: Record<string, number>;
  config: MixtureFile;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function positive(label: string, v: unknown, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
    throw new DataInputError(`${label} must be a number ${allowZero ? '>= 0' : '> 0'}, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks a parsed mixture file; every error names the file and the field (`mix.json: sources[1].weight …`). */
export function resolveMixture(raw: unknown, label: string, overrides: { qualityModel?: string } = {}): ResolvedMixture {
  if (!isObj(raw)) throw new DataInputError(`${label}: expected a JSON object`);
  const known = ['preset', 'sources', 'total', 'quality', 'threshold', 'seed', 'schedule'];
  for (const k of Object.keys(raw))
    if (!known.includes(k)) throw new DataInputError(`${label}: unknown field "${k}" (known: ${known.join(', ')})`);
  if (raw.preset !== undefined && raw.preset !== 'gpt3')
    throw new DataInputError(`${label}: preset must be "gpt3", got ${JSON.stringify(raw.preset)}`);
  const cfg: MixtureFile = { ...(raw.preset === 'gpt3' ? GPT3_MIXTURE : {}), ...(raw as MixtureFile) };
  if (!Array.isArray(cfg.sources) || cfg.sources.length === 0) throw new DataInputError(`${label}: sources must be a non-empty array`);
  const quality = { ...GPT3_MIXTURE.quality, ...(isObj(cfg.quality) ? cfg.quality : {}) };
  if (overrides.qualityModel) quality.model = overrides.qualityModel;
  const expectedEpochs: Record<string, number> = {};
  const names = new Set<string>();
  const sources: SourceInput[] = cfg.sources.map((s, i) => {
    const at = `${label}: sources[${i}]`;
    if (!isObj(s)) throw new DataInputError(`${at} must be an object`);
    if (typeof s.source !== 'string' || !s.source) throw new DataInputError(`${at}.source must be a source spec string`);
    const weight = positive(`${at}.weight`, s.weight, true);
    const name = typeof s.name === 'string' && s.name ? s.name : s.source;
    if (names.has(name)) throw new DataInputError(`${at}.name "${name}" is used twice`);
    names.add(name);
    if (s.epochs !== undefined) expectedEpochs[name] = positive(`${at}.epochs`, s.epochs);
    const stages = s.stages ?? DEFAULT_STAGES;
    if (!Array.isArray(stages)) throw new DataInputError(`${at}.stages must be an array of ${STAGE_NAMES.join(', ')}`);
    for (const st of stages)
      if (!STAGE_NAMES.includes(st)) throw new DataInputError(`${at}.stages: unknown stage "${st}" (known: ${STAGE_NAMES.join(', ')})`);
    const has = (st: StageName) => stages.includes(st);
    if (has('quality') && !quality.model)
      throw new DataInputError(`${at} lists the quality stage: give a classifier (quality.model in the file, or --quality FILE)`);
    const stageOpts: StageOptions = {
      normalize: has('normalize') ? {} : false,
      filter: has('filter') ? {} : false,
      exactDedup: has('exact-dedup'),
      nearDedup: has('near-dedup') ? { threshold: cfg.threshold ?? 0.8 } : false,
      quality: has('quality')
        ? { classifier: quality.model!, alpha: quality.alpha, mode: quality.mode, threshold: quality.threshold, seed: quality.seed }
        : false,
    };
    return { source: s.source, name, weight, quality: has('quality'), stages: stageOpts };
  });
  if (!sources.some((s) => (s.weight ?? 0) > 0)) throw new DataInputError(`${label}: the weights sum to 0`);
  const total = cfg.total ?? {};
  if (!isObj(total)) throw new DataInputError(`${label}: total must be an object {tokens|docs|bytes: N}`);
  const budget = Object.entries(total).filter(([, v]) => v !== undefined);
  if (budget.length !== 1 || !['tokens', 'docs', 'bytes'].includes(budget[0]![0]))
    throw new DataInputError(`${label}: total needs exactly one of tokens, docs, bytes`);
  const [unit, n] = budget[0]! as [string, unknown];
  const amount = positive(`${label}: total.${unit}`, n);
  if (cfg.schedule !== undefined && cfg.schedule !== 'deficit' && cfg.schedule !== 'random')
    throw new DataInputError(`${label}: schedule must be "deficit" or "random"`);
  const mixture: MixtureOptions = {
    seed: cfg.seed ?? 1,
    schedule: cfg.schedule ?? 'deficit',
    by: unit === 'docs' ? 'docs' : unit === 'bytes' ? 'bytes' : 'tokens',
    ...(unit === 'tokens' ? { totalTokens: amount } : unit === 'docs' ? { totalDocs: amount } : { totalBytes: amount }),
  };
  return { sources, mixture, expectedEpochs, config: cfg };
}

/** A mixture from a file path or the name of a preset (`gpt3`). */
export function loadMixture(fileOrPreset: string, overrides: { qualityModel?: string } = {}): ResolvedMixture {
  if (fileOrPreset === 'gpt3') return resolveMixture({ preset: 'gpt3' }, 'preset gpt3', overrides);
  if (!fs.existsSync(fileOrPreset)) throw new DataInputError(`mixture file not found: ${fileOrPreset}`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(fileOrPreset, 'utf8'));
  } catch (e) {
    throw new DataInputError(`${fileOrPreset}: invalid JSON (${(e as Error).message})`);
  }
  return resolveMixture(raw, fileOrPreset, overrides);
}
