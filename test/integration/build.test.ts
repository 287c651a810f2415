// The builder's contract beyond the numbers: the size estimate, progress, cancellation, the disk
// space check, leftovers of killed builds, and one copy of a tied embedding in int4 builds.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { BuildCancelled, BuildProgress, buildModel, estimateBuildSize, NotEnoughDiskSpace } from '../../native/builder/build';
import { readManifest, WEIGHT_DTYPES } from '../../native/model/manifest';
import { makeCheckpoint, tmpDir } from '../helpers/reference';

const SHAPE = { nEmbd: 64, nHeads: 2, prelude: 1, core: 2, coda: 1, intermediate: 96, vocab: 500, seed: 4 };

/** A fresh, empty parent folder and the output path inside it. */
function freshOut(prefix: string): { parent: string; out: string } {
  const parent = tmpDir(prefix);
  return { parent, out: path.join(parent, 'model') };
}

function folderBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
}

/** Initializers of a built graph by name, with their external-data offset. */
function initializers(file: string): Map<string, { dataType: number; dims: number[]; offset: number }> {
  const model = onnx.ModelProto.decode(fs.readFileSync(file));
  return new Map(
    model.graph!.initializer!.map((t) => [
      t.name!,
      {
        dataType: t.dataType!,
        dims: (t.dims ?? []).map(Number),
        offset: Number(t.externalData?.find((e) => e.key === 'offset')?.value ?? -1),
      },
    ]),
  );
}

describe('model builder', function () {
  let checkpoint: string;
  before(() => {
    checkpoint = makeCheckpoint(SHAPE);
  });

  for (const dtype of WEIGHT_DTYPES) {
    it(`estimates the ${dtype} build's size from the tensor shapes`, async function () {
      const estimate = estimateBuildSize(checkpoint, dtype);
      const { out } = freshOut(`estimate-${dtype}`);
      await buildModel({ checkpointDir: checkpoint, outDir: out, dtype });
      const weights = fs.statSync(path.join(out, 'weights.bin')).size;
      // The plan places every tensor before any is written, so weights.bin is known exactly.
      assert.strictEqual(estimate.weightsBytes, weights);
      assert.ok(Math.abs(estimate.totalBytes - folderBytes(out)) <= 0.05 * folderBytes(out), `total ${estimate.totalBytes} vs ${folderBytes(out)}`);
      assert.ok(estimate.totalBytes >= folderBytes(out), 'the estimate errs on the large side');
    });
  }

  it('reports progress by bytes, tensor by tensor, ending at 1', async function () {
    const { out } = freshOut('progress');
    const seen: BuildProgress[] = [];
    await buildModel({ checkpointDir: checkpoint, outDir: out, dtype: 'int4', onProgress: (p) => seen.push(p) });
    assert.ok(seen.length > 10, `${seen.length} progress calls`);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i].fraction > seen[i - 1].fraction, `fraction ${seen[i].fraction} after ${seen[i - 1].fraction}`);
      assert.ok(seen[i].bytesWritten > seen[i - 1].bytesWritten);
    }
    const last = seen[seen.length - 1];
    assert.strictEqual(last.fraction, 1);
    assert.strictEqual(last.bytesWritten, last.bytesTotal);
    assert.strictEqual(last.bytesTotal, fs.statSync(path.join(out, 'weights.bin')).size);
    const tensors = seen.map((p) => p.tensor);
    assert.strictEqual(new Set(tensors).size, tensors.length, 'each tensor once');
    assert.ok(tensors.includes('transformer.wte.weight.q4'), tensors.join(', '));
    assert.ok(tensors.includes('transformer.core_block.1.mlp.fc.weight.q4_scales'), tensors.join(', '));
  });

  it('stops when aborted mid-build and leaves no folder behind', async function () {
    const { parent, out } = freshOut('abort');
    const controller = new AbortController();
    let calls = 0;
    const build = buildModel({
      checkpointDir: checkpoint,
      outDir: out,
      dtype: 'fp32',
      signal: controller.signal,
      onProgress: () => {
        if (++calls === 3) controller.abort();
      },
    });
    await assert.rejects(build, (e: Error) => e instanceof BuildCancelled && /model build cancelled/.test(e.message));
    assert.strictEqual(calls, 3, 'no tensor written after the abort');
    assert.deepStrictEqual(fs.readdirSync(parent), []);
  });

  it('an abort from outside (a timer) also lands between tensors', async function () {
    const { parent, out } = freshOut('abort-timer');
    const controller = new AbortController();
    let calls = 0;
    const build = buildModel({ checkpointDir: checkpoint, outDir: out, dtype: 'int4', signal: controller.signal, onProgress: () => calls++ });
    setImmediate(() => controller.abort());
    await assert.rejects(build, BuildCancelled);
    assert.ok(calls < 5, `${calls} tensors written`);
    assert.deepStrictEqual(fs.readdirSync(parent), []);
  });

  it('a cancelled rebuild leaves the previous build in place', async function () {
    const { parent, out } = freshOut('abort-rebuild');
    await buildModel({ checkpointDir: checkpoint, outDir: out, dtype: 'fp32' });
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(buildModel({ checkpointDir: checkpoint, outDir: out, dtype: 'int4', signal: controller.signal }), BuildCancelled);
    assert.deepStrictEqual(fs.readdirSync(parent), ['model']);
    assert.strictEqual(readManifest(out).dtype, 'fp32');
  });

  it('refuses to start without the disk space, naming both numbers, and writes nothing', async function () {
    const { parent, out } = freshOut('disk');
    const asked: string[] = [];
    const estimate = estimateBuildSize(checkpoint, 'fp32');
    const freeSpace = (dir: string) => {
      asked.push(dir);
      return estimate.totalBytes; // the exact size, without the margin: not enough
    };
    await assert.rejects(buildModel({ checkpointDir: checkpoint, outDir: out, dtype: 'fp32', freeSpace }), (e: Error) => {
      assert.ok(e instanceof NotEnoughDiskSpace);
      assert.match(e.message, /^not enough disk space to build the model: need \d+\.\d+ MB, \d+\.\d+ MB free on /);
      assert.ok(e.message.endsWith(`free on ${parent}`), e.message);
      assert.ok(e.neededBytes > estimate.totalBytes && e.freeBytes === estimate.totalBytes);
      return true;
    });
    assert.deepStrictEqual(asked, [parent]);
    assert.deepStrictEqual(fs.readdirSync(parent), []);
    // Given the margin, the same build goes ahead.
    await buildModel({ checkpointDir: checkpoint, outDir: out, dtype: 'fp32', freeSpace: () => 2 * estimate.totalBytes + 2 ** 26 });
    assert.strictEqual(readManifest(out).dtype, 'fp32');
  });

  it('removes the folder a killed build left, and never loads it as a model', async function () {
    const { parent, out } = freshOut('leftover');
    // The pid of a process that has exited: the build that left this folder is gone.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const leftover = `${out}.building-${dead}-0badc0de`;
    const elsewhere = path.join(tmpDir('leftover-src'), 'model');
    await buildModel({ checkpointDir: checkpoint, outDir: elsewhere, dtype: 'fp32' });
    fs.renameSync(elsewhere, leftover); // killed just before its rename: complete, manifest included
    assert.throws(() => readManifest(leftover), /temporary folder of an unfinished build/);
    // The folder of a build still running in another process (here this test's parent) stays.
    const running = `${out}.building-${process.ppid}-00000000`;
    fs.mkdirSync(running);
    await buildModel({ checkpointDir: checkpoint, outDir: out, dtype: 'fp32' });
    assert.deepStrictEqual(fs.readdirSync(parent).sort(), ['model', path.basename(running)].sort());
  });

  it('stores a tied embedding once in int4 builds: 4-bit rows for the prelude, the same bytes as the LM head', async function () {
    const { out } = freshOut('tied');
    await buildModel({ checkpointDir: checkpoint, outDir: out, dtype: 'int4' });
    const prelude = initializers(path.join(out, 'prelude.onnx'));
    const coda = initializers(path.join(out, 'coda.onnx'));
    for (const suffix of ['.q4', '.q4_scales', '.q4_zero_points']) {
      const key = `transformer.wte.weight${suffix}`;
      assert.ok(prelude.has(key) && coda.has(key), key);
      assert.strictEqual(prelude.get(key)!.offset, coda.get(key)!.offset, key);
    }
    // [V, 2 blocks of 16 bytes] for GatherBlockQuantized, [V, 2, 16] for MatMulNBits.
    assert.deepStrictEqual(prelude.get('transformer.wte.weight.q4')!.dims, [SHAPE.vocab, 32]);
    assert.deepStrictEqual(coda.get('transformer.wte.weight.q4')!.dims, [SHAPE.vocab, 2, 16]);
    for (const g of [prelude, coda]) assert.ok(!g.has('transformer.wte.weight'), 'no fp32 embedding');
  });
});
