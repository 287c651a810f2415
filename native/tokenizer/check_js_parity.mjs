// Checks that native/tokenizer/bpe.py and @huggingface/tokenizers (the JS library the extension
// uses) give identical ids and decoded text for the same tokenizer.json.
// Usage (from the repo root): node native/tokenizer/check_js_parity.mjs [tokenizer.json]
// Exit code 0 when every case matches; the first mismatches are printed.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';

const here = dirname(fileURLToPath(import.meta.url));
const tokPath = process.argv[2] ?? join(here, 'tokenizer.json');
const json = JSON.parse(readFileSync(tokPath, 'utf8'));
const config = JSON.parse(readFileSync(join(dirname(tokPath), 'tokenizer_config.json'), 'utf8'));
const tok = new Tokenizer(json, config);

// Python side: cases and their ids/decodings from bpe.py.
const py = spawnSync('/usr/bin/python3', [join(here, 'parity_cases.py'), tokPath],
  { encoding: 'utf8', maxBuffer: 1 << 28 });
if (py.status !== 0) { console.error(py.stderr); process.exit(2); }
const cases = JSON.parse(py.stdout);

let bad = 0, tokens = 0, chars = 0;
for (const { text, ids, decoded } of cases) {
  const js = tok.encode(text, { add_special_tokens: false }).ids;
  const jsDecoded = js.length ? tok.decode(js, { skip_special_tokens: false }) : '';
  tokens += js.length; chars += text.length;
  const same = js.length === ids.length && js.every((v, i) => v === ids[i]);
  if (!same || jsDecoded !== decoded || decoded !== text) {
    if (++bad <= 5) {
      console.log('MISMATCH', JSON.stringify(text.slice(0, 200)));
      console.log('  py ', JSON.stringify(ids.slice(0, 40)), JSON.stringify(decoded.slice(0, 80)));
      console.log('  js ', JSON.stringify(js.slice(0, 40)), JSON.stringify(jsDecoded.slice(0, 80)));
    }
  }
}
const specials = json.added_tokens.map((t) => `${t.content}=${t.id}`).join(' ');
console.log(`${cases.length - bad}/${cases.length} cases identical (ids, decode, round trip); ` +
  `${tokens} tokens, ${(chars / Math.max(tokens, 1)).toFixed(2)} chars/token; vocab ` +
  `${tok.get_vocab().size}; ${specials}`);
process.exit(bad ? 1 : 0);
