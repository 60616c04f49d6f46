// The tokenizer remembers whole corpora it has tokenized: the same ids as a fresh tokenization, each caller
// its own copy, the BPE run once per (text, how).
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { dirFiles } from '../../src/cli/files';
import { Checkpoint } from '../../src/model/checkpoint';
import { TextTokenizer } from '../../src/model/tokenizer';

describe('TextTokenizer corpus cache', () => {
  it('tokenizes a corpus once, and gives the ids a fresh tokenizer gives', async () => {
    const ckpt = await Checkpoint.open(dirFiles('public/models/qwen3-dict-74k'));
    const tok = await TextTokenizer.load(ckpt.files, ckpt.config);
    const fresh = await TextTokenizer.load(ckpt.files, ckpt.config);
    const text = readFileSync('public/data/heldout_dict.txt', 'utf8');
    const inner = (tok as unknown as { tok: { encode: (...a: unknown[]) => unknown } }).tok;
    const spy = vi.spyOn(inner, 'encode');

    const a = tok.encodeDocuments(text);
    const calls = spy.mock.calls.length;
    expect(calls).toBeGreaterThan(1); // one per document
    a[0] = -1; // a caller's copy: changing it changes nothing the next caller sees
    const b = tok.encodeDocuments(text);
    expect(spy.mock.calls.length).toBe(calls);
    expect(b).toEqual(fresh.encodeDocuments(text));

    // another way of tokenizing the same text is its own entry
    const whole = tok.encodeDocument(text);
    expect(spy.mock.calls.length).toBe(calls + 1);
    expect(whole).toEqual(fresh.encodeDocument(text));
    expect(whole).not.toEqual(b);
    tok.encodeDocument(text);
    expect(spy.mock.calls.length).toBe(calls + 1);

    // short texts (prompts) are not remembered
    tok.encodeDocument('A poodle is a kind of');
    tok.encodeDocument('A poodle is a kind of');
    expect(spy.mock.calls.length).toBe(calls + 3);
  });
});
