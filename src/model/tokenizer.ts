// Tokenizers through Hugging Face's tokenizers.js (@huggingface/tokenizers, the tokenizer engine of
// transformers.js), from the checkpoint's own tokenizer.json + tokenizer_config.json. No network.
import { Tokenizer } from '@huggingface/tokenizers';
import type { ModelConfig } from './config';
import { CheckpointError } from './errors';
import { type ModelFiles, readText } from './source';

/** Texts at least this long are remembered once tokenized (perplexity and calibration corpora, not prompts). */
const CACHE_MIN_CHARS = 1 << 16;
const CACHE_ENTRIES = 4;

export class TextTokenizer {
  /** Tokens a document starts with (BOS), as transformers' tokenizer adds them with add_special_tokens. */
  readonly prefix: number[];
  readonly eosIds: number[];
  /**
   * The last few whole corpora tokenized (how, text, ids): a sweep evaluates the same WikiText-2 / held-out
   * text and draws from the same calibration corpus for every configuration of a model, a long BPE pass each.
   */
  private readonly corpora: { how: string; text: string; ids: number[] }[] = [];

  constructor(private readonly tok: Tokenizer, tokConfig: Record<string, unknown>, config?: ModelConfig) {
    let prefix = tok.encode('', { add_special_tokens: true }).ids;
    if (prefix.length === 0 && typeof tokConfig.bos_token === 'string' && tokConfig.add_bos_token !== false) {
      const id = tok.token_to_id(tokConfig.bos_token);
      if (id !== undefined) prefix = [id];
    }
    this.prefix = prefix;
    const eos = new Set<number>(config?.eosTokenIds ?? []);
    const eosTok = typeof tokConfig.eos_token === 'string' ? tok.token_to_id(tokConfig.eos_token) : undefined;
    if (eosTok !== undefined) eos.add(eosTok);
    this.eosIds = [...eos];
  }

  static async load(files: ModelFiles, config?: ModelConfig): Promise<TextTokenizer> {
    if (!files.has('tokenizer.json')) {
      throw new CheckpointError(files.id, 'has no tokenizer.json', 'Add the model\'s tokenizer.json (and tokenizer_config.json) from its Hugging Face repository.');
    }
    const parse = async (p: string) => {
      try {
        return JSON.parse(await readText(files, p)) as Record<string, unknown>;
      } catch (e) {
        throw new CheckpointError(`${files.id}/${p}`, `is not valid JSON (${(e as Error).message})`);
      }
    };
    const json = await parse('tokenizer.json');
    const cfg = files.has('tokenizer_config.json') ? await parse('tokenizer_config.json') : {};
    try {
      return new TextTokenizer(new Tokenizer(json, cfg), cfg, config);
    } catch (e) {
      throw new CheckpointError(`${files.id}/tokenizer.json`, `could not be loaded (${(e as Error).message})`);
    }
  }

  /** Token ids of `text`, without special tokens (the caller adds `prefix` where a document starts). */
  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Token ids of a whole document as transformers' tokenizer(text) gives them (special tokens included). */
  encodeDocument(text: string): number[] {
    return this.remembered('document', text, () => this.tok.encode(text, { add_special_tokens: true }).ids);
  }

  /**
   * A text of documents separated by blank lines, as a stream in which every document starts with the
   * prefix (BOS, or the end-of-text token for models trained on documents separated by it).
   */
  encodeDocuments(text: string, separator = '\n\n'): number[] {
    return this.remembered(`documents ${JSON.stringify(separator)}`, text, () => {
      const start = this.prefix.length ? this.prefix : this.eosIds.slice(0, 1);
      const out: number[] = [];
      for (const doc of text.split(separator)) {
        const d = doc.trim();
        if (d) out.push(...start, ...this.encode(d));
      }
      return out;
    });
  }

  /** encode() of a long text once per (how, text); callers get their own copy of the ids. */
  private remembered(how: string, text: string, encode: () => number[]): number[] {
    if (text.length < CACHE_MIN_CHARS) return encode();
    let hit = this.corpora.find((c) => c.how === how && c.text === text);
    if (hit) this.corpora.splice(this.corpora.indexOf(hit), 1);
    else hit = { how, text, ids: encode() };
    this.corpora.unshift(hit);
    this.corpora.length = Math.min(this.corpora.length, CACHE_ENTRIES);
    return hit.ids.slice();
  }

  decode(ids: number[], skipSpecial = false): string {
    return this.tok.decode(ids, { skip_special_tokens: skipSpecial });
  }

  get vocabSize(): number {
    return this.tok.get_vocab(true).size;
  }
}
