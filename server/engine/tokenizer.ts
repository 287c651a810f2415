// The model's tokenizer, loaded from its Hugging Face tokenizer.json with @huggingface/tokenizers.
import * as fs from 'fs';
import * as path from 'path';
// The package's type declarations are ESM-only while its runtime also ships CommonJS: take the
// types in import mode and the class through require.
import type { Tokenizer as TokenizerClass } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tokenizer } = require('@huggingface/tokenizers') as { Tokenizer: typeof TokenizerClass };

export class TokenizerError extends Error {}

export class TextTokenizer {
  private readonly tok: TokenizerClass;
  /** Strings of the special tokens: user text must never smuggle one in. */
  private readonly specials: string[];
  /** Each id's own decoded text, built on first use (token healing reads it). */
  private texts: string[] | undefined;

  constructor(file: string) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new TokenizerError(`tokenizer.json: cannot read (${(e as Error).message})`);
    }
    const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
    let config: object = {};
    if (fs.existsSync(configFile)) {
      try {
        config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
      } catch (e) {
        throw new TokenizerError(`tokenizer_config.json: cannot read (${(e as Error).message})`);
      }
    }
    const added = (json as { added_tokens?: { content: string; special?: boolean }[] }).added_tokens ?? [];
    this.specials = added.filter((t) => t.special && t.content.length > 0).map((t) => t.content);
    try {
      this.tok = new Tokenizer(json as object, config);
      this.tok.encode('probe');
    } catch (e) {
      throw new TokenizerError(`tokenizer.json: not a usable tokenizer (${(e as Error).message})`);
    }
  }

  /** Token ids of `text`, without added begin/end tokens (prompts are assembled by the caller). */
  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Token ids of untrusted text (a document): special-token strings in it are dropped, so a file
   *  that contains "<|fim_middle|>" cannot restructure the prompt. */
  encodeUntrusted(text: string): number[] {
    let clean = text;
    for (const s of this.specials) if (clean.includes(s)) clean = clean.split(s).join('');
    return this.encode(clean);
  }

  decode(ids: number[]): string {
    // @huggingface/tokenizers throws on an empty list; no tokens are no text (a beam whose first
    // token is a stop).
    if (ids.length === 0) return '';
    return this.tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /** The decoded text of every id below `vocabSize` on its own ('' for special tokens; U+FFFD
   *  for a byte that is only part of a character). */
  tokenTexts(vocabSize: number): readonly string[] {
    if (!this.texts || this.texts.length !== vocabSize) this.texts = Array.from({ length: vocabSize }, (_, id) => this.decode([id]));
    return this.texts;
  }

  tokenId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}
