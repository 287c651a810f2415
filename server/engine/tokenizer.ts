// The model's tokenizer, loaded from its Hugging Face tokenizer.json with @huggingface/tokenizers.
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer } from '@huggingface/tokenizers';

export class TokenizerError extends Error {}

export class TextTokenizer {
  private readonly tok: Tokenizer;

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

  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  tokenId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}
