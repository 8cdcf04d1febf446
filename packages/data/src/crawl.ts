// A crawl-like corpus for demonstrations, built honestly from real text: passages of the Brown corpus and pages of
// WordNet glosses with their examples, damaged the way web pages are (navigation menus, keyword spam, markup soup,
// repeated lines, cookie banners, symbol noise), plus planted near-duplicates of earlier pages. What was done to
// each document is kept as ground truth in `meta` (`damage`, `base`, `duplicateOf`), so that filters, the quality
// classifier and dedup can be scored against it. Generation is streamed and deterministic for a seed; memory is
// bounded (WordNet's cached synsets, one Brown file and a ring of recent pages for the duplicates).
import { Rng } from '@gptlab/common';
import type { Doc } from './types';
import { brownDocs } from './brown';
import { loadWordNet } from './wordnet';
import { hashString32 } from './util';
import { makeSource, type Source } from './sources';

// Applied in this order, so that later damage (menus, banners) is not itself mangled by symbol noise or markup.
export const DAMAGE_KINDS = ['symbols', 'markup', 'nav', 'spam', 'repeat', 'cookie'] as const;
export type DamageKind = (typeof DAMAGE_KINDS)[number];

export interface CrawlOptions {
  /** Stop after this many documents (default: unbounded, cycling over the base text). */
  docs?: number;
  /** Stop once this many UTF-8 bytes were produced. */
  bytes?: number;
  seed?: number;
  /** Share of pages left clean (default 0.3). */
  cleanRate?: number;
  /** Share of pages that are near-copies of a recent page (default 0.08). */
  duplicateRate?: number;
  /**
   * Only base passages in part k of n (by a hash of their id): two crawls over different parts share no text,
   * so a classifier trained on one is not scored on pages it memorised.
   */
  part?: [number, number];
  name?: string;
}

/**
 * Base passages whose id hashes to 0 mod 10 never enter the crawl: they are the held-out reference text that
 * `referencePassages({ heldOut: true })` yields (validation of the filtered-vs-unfiltered comparison).
 */
export function isHeldOutPassage(id: string): boolean {
  return hashString32(id, 0x5eed) % 10 === 0;
}

/** Clean passages: Brown files cut into runs of 3 paragraphs, WordNet glosses grouped 8 at a time by lexname. */
export function* referencePassages(opts: { heldOut?: boolean; brown?: boolean; wordnet?: boolean } = {}): Generator<Doc> {
  const keep = (id: string) => (opts.heldOut === undefined ? true : isHeldOutPassage(id) === opts.heldOut);
  const brown = opts.brown !== false ? brownPassages() : null;
  const wordnet = opts.wordnet !== false ? wordnetPages() : null;
  // interleave the two so that any prefix holds both kinds of text
  for (;;) {
    const a = brown?.next();
    const b = wordnet?.next();
    if ((!a || a.done) && (!b || b.done)) return;
    if (a && !a.done && keep(a.value.id)) yield a.value;
    if (b && !b.done && keep(b.value.id)) yield b.value;
  }
}

function* brownPassages(): Generator<Doc> {
  for (const d of brownDocs()) {
    const paras = d.text.split('\n\n');
    for (let i = 0; i < paras.length; i += 3)
      yield { id: `${d.id}#${i / 3}`, text: paras.slice(i, i + 3).join('\n\n'), meta: { source: 'brown', category: d.meta!.category } };
  }
}

function* wordnetPages(): Generator<Doc> {
  const byLex = new Map<string, string[]>();
  for (const s of loadWordNet().synsets) {
    const lines = byLex.get(s.lexname) ?? [];
    const ex = s.examples.length ? ` For example: "${s.examples.join('"; "')}".` : '';
    lines.push(`${s.words[0]!.replace(/_/g, ' ')}: ${s.definition}.${ex}`);
    if (lines.length === 8) {
      yield { id: `wn:${s.lexname}#${s.id}`, text: lines.join('\n'), meta: { source: 'wordnet', lexname: s.lexname } };
      byLex.set(s.lexname, []);
    } else byLex.set(s.lexname, lines);
  }
}

const MENU = ['Home', 'About Us', 'Contact', 'Blog', 'Shop', 'Login', 'Sign up', 'Privacy Policy', 'Terms of Use', 'FAQ', 'Careers'];
const MENU_MORE = ['Sitemap', 'Search', 'Newsletter', 'Help', 'Events', 'Press', 'Forums', 'Deals', 'Gift Cards', 'My Account'];
const SPAM = ['cheap', 'best', 'free', 'buy', 'online', 'discount', 'deal', 'sale', 'top', 'download', 'casino', 'review', 'now'];
const SYMBOLS = '#$%^&*~|<>{}[]@+=';

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;

function menu(rng: Rng): string {
  const items = rng.shuffle([...MENU, ...MENU_MORE]).slice(0, 5 + rng.int(6));
  return rng.next() < 0.5 ? items.join(' | ') : items.join('\n');
}

/** One damage of each kind: text in, damaged text out. */
export const DAMAGE: Record<DamageKind, (text: string, rng: Rng) => string> = {
  nav: (t, rng) =>
    `${menu(rng)}\n${t}\n${menu(rng)}\n© ${2000 + rng.int(25)} ${pick(rng, ['Example Media', 'WebCorp', 'Daily Site'])}. All rights reserved.`,
  spam: (t, rng) => {
    const words = t.toLowerCase().match(/[a-z]{4,}/g) ?? ['product'];
    const keys = [pick(rng, words), pick(rng, words)];
    const spam: string[] = [];
    for (let i = 0, n = 40 + rng.int(80); i < n; i++) spam.push(rng.next() < 0.5 ? pick(rng, keys) : pick(rng, SPAM));
    const paras = t.split('\n');
    paras.splice(rng.int(paras.length + 1), 0, spam.join(' '));
    return paras.join('\n');
  },
  markup: (t, rng) => {
    const cls = pick(rng, ['post-body', 'content', 'entry', 'article-text']);
    const body = t
      .split('\n')
      .map((p) => (p ? `<p>${p.replace(/ /g, () => (rng.next() < 0.05 ? '&nbsp;' : ' '))}</p><br/>` : ''))
      .join('\n');
    return `<div class="${cls}"><script>var _gaq = _gaq || []; _gaq.push(['_trackPageview']);</script>\n${body}\n<a href="/tag/${rng.int(999)}">more</a></div>`;
  },
  repeat: (t, rng) => {
    const lines = t.split('\n');
    const own = lines.filter((l) => l.trim());
    const line =
      rng.next() < 0.5 || !own.length
        ? pick(rng, ['Click here to subscribe!', 'Share this:', 'Read more', 'Advertisement'])
        : pick(rng, own);
    const at = rng.int(lines.length + 1);
    lines.splice(at, 0, ...Array<string>(6 + rng.int(15)).fill(line));
    return lines.join('\n');
  },
  cookie: (t, rng) => {
    const banner =
      `We use cookies to ${pick(rng, ['give you the best experience', 'improve your experience', 'personalise content and ads'])} on our website. ` +
      `By continuing to browse, you agree to our use of cookies. [Accept all] [${pick(rng, ['Manage preferences', 'Reject', 'Settings'])}]`;
    return rng.next() < 0.5 ? `${banner}\n${t}` : `${t}\n${banner}`;
  },
  symbols: (t, rng) =>
    t.replace(/[ a-z]/g, (c) => {
      const u = rng.next();
      if (u < 0.06) return pick(rng, [...SYMBOLS]);
      if (u < 0.07) return c + pick(rng, ['####', '*~*~*', '>>>', '$$$']);
      return c;
    }),
};

/** A near-copy of a page: about 1.5 % of its words replaced by other words of the same page. */
function nearCopy(text: string, rng: Rng): string {
  const words = text.split(' ');
  for (let i = 0; i < words.length; i++) if (rng.next() < 0.015) words[i] = words[rng.int(words.length)]!;
  return words.join(' ');
}

/** The crawl as a document generator (see the module comment); `meta.damage` lists what was done. */
export function* crawlDocs(opts: CrawlOptions = {}): Generator<Doc> {
  const rng = new Rng(opts.seed ?? 1);
  const cleanRate = opts.cleanRate ?? 0.3;
  const duplicateRate = opts.duplicateRate ?? 0.08;
  const recent: Doc[] = []; // ring of recent pages, the originals of planted near-duplicates
  let n = 0;
  let bytes = 0;
  const [k, parts] = opts.part ?? [0, 1];
  if (!(Number.isInteger(parts) && parts >= 1 && Number.isInteger(k) && k >= 0 && k < parts))
    throw new Error(`crawl: part must be [k, n] with 0 <= k < n, got [${k}, ${parts}]`);
  const inPart = (id: string) => parts === 1 || hashString32(id, 0xba5e) % parts === k;
  const done = () => (opts.docs !== undefined && n >= opts.docs) || (opts.bytes !== undefined && bytes >= opts.bytes);
  for (let pass = 0; !done(); pass++) {
    let any = false;
    for (const base of referencePassages({ heldOut: false })) {
      if (done()) return;
      if (!inPart(base.id)) continue;
      any = true;
      let doc: Doc;
      if (recent.length && rng.next() < duplicateRate) {
        const orig = recent[rng.int(recent.length)]!;
        doc = { id: `crawl:${n}`, text: nearCopy(orig.text, rng), meta: { ...orig.meta, duplicateOf: orig.id } };
      } else {
        const damage: DamageKind[] = [];
        if (rng.next() >= cleanRate) {
          for (const k of DAMAGE_KINDS) if (rng.next() < 0.3) damage.push(k);
          if (!damage.length) damage.push(pick(rng, DAMAGE_KINDS));
        }
        let text = base.text;
        for (const k of damage) text = DAMAGE[k](text, rng);
        doc = { id: `crawl:${n}`, text, meta: { source: 'crawl', base: base.id, pass, damage } };
        if (recent.length < 256) recent.push(doc);
        else recent[rng.int(256)] = doc;
      }
      n++;
      bytes += Buffer.byteLength(doc.text);
      yield doc;
    }
    if (!any) throw new Error('crawl: no base passages (is the Brown corpus or WordNet missing?)');
  }
}

/** The crawl as a re-iterable Source (each pass regenerates the same documents). */
export function crawlSource(opts: CrawlOptions = {}): Source {
  return makeSource(opts.name ?? 'crawl', async function* () {
    yield* crawlDocs(opts);
  });
}
