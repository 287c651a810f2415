// The checkpoint reader on well-formed and broken checkpoints: every failure names what is wrong.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { HuginnCheckpoint } from '../../native/model/checkpoint';
import { readManifest } from '../../native/model/manifest';
import { buildModel } from '../../native/builder/build';
import { copyModel, makeCheckpoint, tmpDir } from '../helpers/reference';

const SHAPE = { nEmbd: 32, nHeads: 2, prelude: 1, core: 1, coda: 1, intermediate: 48, vocab: 300 };

/** Rewrites a safetensors header with `edit` applied (data left as is). */
function editHeader(file: string, edit: (h: Record<string, any>) => void): void {
  const buf = fs.readFileSync(file);
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString());
  const data = buf.subarray(8 + len);
  edit(header);
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([prefix, json, data]));
}

describe('checkpoint reader', function () {
  let good: string;
  let sharded: string;
  before(() => {
    good = makeCheckpoint(SHAPE);
    sharded = makeCheckpoint({ ...SHAPE, shards: 3, dtype: 'bf16' });
  });

  it('reads single-file and sharded bf16 checkpoints with the official names', function () {
    for (const dir of [good, sharded]) {
      const ck = new HuginnCheckpoint(dir);
      assert.strictEqual(ck.config.nEmbd, 32);
      const wte = ck.weights.readFloat32('transformer.wte.weight');
      assert.strictEqual(wte.length, 300 * 32);
      assert.ok(wte.some((v) => v !== 0));
    }
    assert.strictEqual(new HuginnCheckpoint(sharded).weights.files.length, 3);
  });

  const broken: [string, (dir: string) => void, RegExp][] = [
    ['a missing folder', (d) => fs.rmSync(d, { recursive: true }), /checkpoint folder not found/],
    ['a missing config.json', (d) => fs.rmSync(path.join(d, 'config.json')), /missing config\.json/],
    ['a config that is not JSON', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"n_embd": 3'), /config\.json: not valid JSON/],
    ['an absurd config value', (d) => patchConfig(d, { n_heads: 5 }), /n_embd 32 is not divisible by n_heads 5/],
    ['a negative layer count', (d) => patchConfig(d, { n_layers_in_coda: -1 }), /n_layers_in_coda.*out of range/],
    ['a wrong type', (d) => patchConfig(d, { rope_base: 'big' }), /rope_base/],
    ['grouped-query attention', (d) => patchConfig(d, { num_key_value_heads: 1 }), /no grouped-query attention/],
    ['a missing tokenizer', (d) => fs.rmSync(path.join(d, 'tokenizer.json')), /missing tokenizer\.json/],
    ['no weights', (d) => fs.rmSync(path.join(d, 'model.safetensors')), /no model\.safetensors/],
    ['a truncated weights file', (d) => truncate(path.join(d, 'model.safetensors')), /truncated/],
    ['garbage weights', (d) => fs.writeFileSync(path.join(d, 'model.safetensors'), Buffer.alloc(4096, 0xff)), /not a safetensors file/],
    ['a missing tensor', (d) => editHeader(path.join(d, 'model.safetensors'), (h) => delete h['transformer.core_block.0.mlp.fc.weight']), /missing tensor "transformer\.core_block\.0\.mlp\.fc\.weight"/],
    [
      'a wrongly shaped tensor',
      (d) => editHeader(path.join(d, 'model.safetensors'), (h) => (h['transformer.ln_f.weight'].shape = [16, 2])),
      /tensor "transformer\.ln_f\.weight" has shape \[16, 2\], expected \[32\]/,
    ],
  ];
  for (const [what, breakIt, message] of broken) {
    it(`rejects ${what} with a clear message`, function () {
      const dir = copyModel(good);
      breakIt(dir);
      assert.throws(() => new HuginnCheckpoint(dir), message);
    });
  }

  it('refuses shard names that escape the checkpoint folder', function () {
    const dir = copyModel(sharded);
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
    const first = Object.keys(index.weight_map)[0];
    index.weight_map[first] = '../../etc/passwd';
    fs.writeFileSync(indexFile, JSON.stringify(index));
    assert.throws(() => new HuginnCheckpoint(dir), /points outside the model folder/);
  });

  it('refuses manifest entries that escape the model folder', async function () {
    const out = path.join(tmpDir('built'), 'm');
    await buildModel({ checkpointDir: good, outDir: out, dtype: 'fp32' });
    const file = path.join(out, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(file, 'utf8'));
    m.graphs.core = '/etc/passwd';
    fs.writeFileSync(file, JSON.stringify(m));
    assert.throws(() => readManifest(out), /manifest\.json graphs\.core: invalid file name/);
    m.graphs.core = '../core.onnx';
    fs.writeFileSync(file, JSON.stringify(m));
    assert.throws(() => readManifest(out), /points outside the model folder/);
  });
});

function patchConfig(dir: string, patch: Record<string, unknown>): void {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), ...patch }));
}

function truncate(file: string): void {
  const size = fs.statSync(file).size;
  fs.truncateSync(file, Math.floor(size * 0.7));
}
