#!/usr/bin/env node
// Packages the extension (npm run package): bundles with esbuild (scripts/bundle.mjs), lays out
// what ships in a staging folder, and runs `vsce package --target linux-x64 --no-dependencies`
// there. Prints the VSIX's path and size.
//
// The stage, not the repository, is packaged because the shipped package.json differs in one
// field: `main` is the bundle (dist/extension.js) instead of tsc's out/src/extension.js. What
// the stage holds:
//   package.json (main -> dist/extension.js, no scripts), README.md, LICENSE/CHANGELOG if present,
//   media/, dist/{extension,server,engineWorker,webgpuProbe}.js,
//   dist/node_modules/onnxruntime-node (JS + linux-x64 binaries) and onnxruntime-common (CJS),
//   native/models/default/ if it exists,
//   .vscodeignore (the repository's allow-list, applied by vsce as a second filter).
// onnxruntime sits in dist/node_modules, not node_modules: `vsce --no-dependencies` drops the
// top-level node_modules folder entirely, and dist/engineWorker.js resolves dist/node_modules
// first anyway.
//
// After packaging it unzips the VSIX and starts the packaged language server (the VSIX's own
// onnxruntime and, when shipped, its default model): it must answer initialize and, with a model
// (the shipped one, or --model DIR), load it and return a completion.
//
// Options: --out FILE (default <repo>/recurrent-copilot-linux-x64-<version>.vsix), --model DIR,
//          --no-check, --no-minify, --keep-stage.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, checkServer } from './bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const TARGET = 'linux-x64';
const ORT_BINARIES = 'bin/napi-v6/linux/x64';

const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const vsixPath = path.resolve(option('--out') ?? path.join(root, `${manifest.name}-${TARGET}-${manifest.version}.vsix`));

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function copy(from, to, filter = () => true) {
  fs.cpSync(from, to, { recursive: true, filter: (src) => fs.statSync(src).isDirectory() || filter(src) });
}

function packageDir(name) {
  return path.dirname(fs.realpathSync(path.join(root, 'node_modules', name, 'package.json')));
}

function stageOnnxruntime(stage) {
  const ortNode = packageDir('onnxruntime-node');
  const ortCommon = packageDir('onnxruntime-common');
  const toNode = path.join(stage, 'dist', 'node_modules', 'onnxruntime-node');
  const toCommon = path.join(stage, 'dist', 'node_modules', 'onnxruntime-common');
  if (!fs.existsSync(path.join(ortNode, ORT_BINARIES, 'onnxruntime_binding.node'))) {
    throw new Error(`onnxruntime-node has no ${ORT_BINARIES}/onnxruntime_binding.node (run: ONNXRUNTIME_NODE_INSTALL=skip npm ci)`);
  }
  fs.mkdirSync(toNode, { recursive: true });
  fs.copyFileSync(path.join(ortNode, 'package.json'), path.join(toNode, 'package.json'));
  copy(path.join(ortNode, 'dist'), path.join(toNode, 'dist'), (f) => f.endsWith('.js'));
  // Every file of the linux-x64 folder: libonnxruntime.so.1, the binding, and the CUDA/TensorRT
  // provider libraries if the install script could fetch them on this machine.
  copy(path.join(ortNode, ORT_BINARIES), path.join(toNode, ORT_BINARIES));
  fs.mkdirSync(toCommon, { recursive: true });
  fs.copyFileSync(path.join(ortCommon, 'package.json'), path.join(toCommon, 'package.json'));
  copy(path.join(ortCommon, 'dist', 'cjs'), path.join(toCommon, 'dist', 'cjs'), (f) => f.endsWith('.js') || f.endsWith('package.json'));
}

function stageFiles(stage) {
  const shipped = { ...manifest, main: './dist/extension.js' };
  delete shipped.scripts; // nothing for vsce to run (no vscode:prepublish): the bundle is built here
  delete shipped.bin; // the CLI is not part of the extension
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(shipped, null, 2) + '\n');
  for (const file of ['README.md', 'LICENSE', 'LICENSE.md', 'LICENSE.txt', 'CHANGELOG.md', '.vscodeignore']) {
    if (fs.existsSync(path.join(root, file))) fs.copyFileSync(path.join(root, file), path.join(stage, file));
  }
  copy(path.join(root, 'media'), path.join(stage, 'media'));
  for (const file of ['extension.js', 'server.js', 'engineWorker.js', 'webgpuProbe.js']) {
    fs.mkdirSync(path.join(stage, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'dist', file), path.join(stage, 'dist', file));
  }
  stageOnnxruntime(stage);
  const model = path.join(root, 'native', 'models', 'default');
  if (fs.existsSync(path.join(model, 'manifest.json')) || fs.existsSync(path.join(model, 'config.json'))) {
    copy(model, path.join(stage, 'native', 'models', 'default'));
    return true;
  }
  return false;
}

function runVsce(stage) {
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  const hasLicense = ['LICENSE', 'LICENSE.md', 'LICENSE.txt'].some((f) => fs.existsSync(path.join(root, f)));
  const vsceArgs = ['package', '--target', TARGET, '--no-dependencies', '--out', vsixPath];
  if (!manifest.repository) vsceArgs.push('--allow-missing-repository');
  if (!hasLicense) vsceArgs.push('--skip-license');
  const result = spawnSync(process.execPath, [vsce, ...vsceArgs], { cwd: stage, stdio: 'inherit', env: { ...process.env, VSCE_TELEMETRY: 'off' } });
  if (result.status !== 0) throw new Error(`vsce package failed (exit ${result.status ?? result.signal})`);
  return { hasLicense };
}

function listVsix() {
  const result = spawnSync('unzip', ['-l', vsixPath], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  return result.stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+\S+\s+\S+\s+(extension\/.*)$/.exec(line))
    .filter(Boolean)
    .map((m) => ({ bytes: Number(m[1]), file: m[2] }));
}

async function checkVsix(options) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-vsix-check-'));
  try {
    const result = spawnSync('unzip', ['-q', vsixPath, '-d', dir], { stdio: 'inherit' });
    if (result.status !== 0) throw new Error('unzip failed');
    await checkServer(path.join(dir, 'extension', 'dist', 'server.js'), options);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const started = Date.now();
  const bundles = await bundle({ minify: !args.includes('--no-minify') });
  for (const b of bundles) console.log(`bundled ${b.file} (${(b.bytes / 1024).toFixed(0)} KiB)`);

  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-vsix-stage-'));
  let withModel = false;
  try {
    withModel = stageFiles(stage);
    console.log(withModel ? 'default model: native/models/default included' : 'default model: native/models/default not found, not included');
    fs.rmSync(vsixPath, { force: true });
    const { hasLicense } = runVsce(stage);
    if (!hasLicense) console.log('note: no LICENSE file at the repository root; packaged with --skip-license');
  } finally {
    if (args.includes('--keep-stage')) console.log(`stage kept: ${stage}`);
    else fs.rmSync(stage, { recursive: true, force: true });
  }

  const files = listVsix();
  if (files) {
    // .vscodeignore is an allow-list: a bundle it does not name would silently be left out.
    const missing = bundles.filter((b) => !files.some((f) => f.file === `extension/${b.file}`));
    if (missing.length) throw new Error(`the VSIX lacks ${missing.map((b) => b.file).join(', ')}: allow it in .vscodeignore`);
    const groups = new Map();
    for (const f of files) {
      const key = f.file.split('/').slice(1, f.file.startsWith('extension/dist/node_modules/') ? 4 : 2).join('/');
      groups.set(key, (groups.get(key) ?? 0) + f.bytes);
    }
    console.log(`contents (${files.length} files, uncompressed):`);
    for (const [key, bytes] of [...groups].sort((a, b) => b[1] - a[1])) console.log(`  ${mib(bytes).padStart(10)}  ${key}`);
  }
  const size = fs.statSync(vsixPath).size;
  console.log(`VSIX: ${path.relative(process.cwd(), vsixPath) || vsixPath} ${mib(size)} (${size} bytes), ${((Date.now() - started) / 1000).toFixed(1)} s`);

  if (!args.includes('--no-check')) {
    const model = option('--model');
    await checkVsix(model ? { model } : { shipped: withModel });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
