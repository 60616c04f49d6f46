// The documents stay usable: the README is a user's page of at most 12 KB, every relative link in the documents
// reaches a file (and, into Markdown, a heading) that exists, and no Markdown file speaks of machines as "lent"
// or of issue numbers.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const SKIP = new Set(['node_modules', '.git', 'dist', 'dist-cli', 'test-results', 'playwright-report', '.devcarry', '.benchcarry']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    if (SKIP.has(f)) return [];
    const p = join(dir, f);
    return statSync(p).isDirectory() ? markdownFiles(p) : f.endsWith('.md') ? [p] : [];
  });
}

/** Markdown without its fenced code blocks and code spans, where link syntax is text. */
const prose = (md: string) => md.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

/** The anchors GitHub gives a Markdown file's headings (lowercased, punctuation dropped, spaces to hyphens). */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, text] of prose(md).matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const slug = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

/** Relative link targets: Markdown links and images, and HTML src / href. */
function links(md: string): string[] {
  const text = prose(md);
  const targets = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g), ...text.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

const DOCS = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f)), 'bench/results/README.md', 'examples/README.md'];

describe('documents', () => {
  it('README.md is at most 12 KB', () => {
    expect(statSync('README.md').size).toBeLessThanOrEqual(12 * 1024);
  });

  for (const doc of DOCS) {
    it(`${doc}: every relative link reaches a file, and a heading where it names one`, () => {
      const found = links(readFileSync(doc, 'utf8'));
      expect(found.length, `${doc} has no relative links: is the link pattern still right?`).toBeGreaterThan(0);
      const broken = found.filter((target) => {
        const [path, anchor] = target.split('#');
        const file = path ? normalize(join(dirname(doc), decodeURI(path))) : doc;
        if (!existsSync(file)) return true;
        return anchor !== undefined && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(anchor);
      });
      expect(broken, `${doc}: broken links`).toEqual([]);
    });
  }

  it('no Markdown file speaks of machines as lent, or of issue numbers', () => {
    const files = markdownFiles('.');
    expect(files).toContain('README.md');
    const offending = files.flatMap((f) =>
      readFileSync(f, 'utf8').split('\n').flatMap((line, i) => (/\blent\b|\bissues? *#?\d+/i.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offending).toEqual([]);
  });

  it('the anchor and link readers find what they should', () => {
    expect(anchors('# A tour of the lab\n## The README\'s examples: time on a GPU\n```\n# not a heading\n```\n## Kernels (M = 1)\n## Kernels (M = 1)')).toEqual(
      new Set(['a-tour-of-the-lab', 'the-readmes-examples-time-on-a-gpu', 'kernels-m--1', 'kernels-m--1-1']),
    );
    expect(links('[a](docs/x.md#y) ![b](img.jpg "t") <img src="c.jpg"> [d](https://e.org) `[f](g.md)`')).toEqual(['docs/x.md#y', 'img.jpg', 'c.jpg']);
  });
});
