#!/usr/bin/env node
// Bundles the extension for packaging (npm run bundle): four CommonJS files in dist/, each with
// its libraries inlined, for the Node that VS Code's extension host runs.
//
//   src/extension.ts              -> dist/extension.js     (the client; `vscode` is external)
//   server/lsp/server.ts          -> dist/server.js        (the language server, run by the client)
//   server/engine/engineWorker.ts -> dist/engineWorker.js  (the engine's worker thread)
//   server/engine/webgpuProbe.ts  -> dist/webgpuProbe.js   (the WebGPU probe, a child process)
//
// onnxruntime-node stays external: it loads a native binding by a computed path, so it ships
// unbundled in the VSIX (scripts/package.mjs copies its linux-x64 files).
//
// Two paths differ between the tsc layout (out/...) and this one; the sources are left alone and
// the bundle is made to match:
//   - the client starts `SERVER_MODULE` (src/serverClient.ts), 'out/server/lsp/server.js' in the
//     dev layout: rewritten to 'dist/server.js' while bundling (the build fails if the constant
//     is not found, so a change in serverClient.ts cannot silently break the package);
//   - the engine starts path.join(__dirname, 'engineWorker.js') and the device decision
//     path.join(__dirname, 'webgpuProbe.js'): dist/ holds them all, nothing to do;
//   - modelHost.ts's defaultModelDir() is __dirname/../../../native/models/default, which from
//     dist/ points outside the extension: the server bundle's banner sets
//     RECURRENT_COPILOT_DEFAULT_MODEL (which defaultModelDir() honours) to
//     <extension>/native/models/default unless the user already set it.
//
// Options: --minify, --sourcemap, --check (after bundling, start dist/server.js and check that it
// answers `initialize`; with RECURRENT_COPILOT_DEFAULT_MODEL or --model DIR it also waits for the
// model to load and asks for one completion).

import * as esbuild from 'esbuild';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const minify = args.includes('--minify');
const sourcemap = args.includes('--sourcemap');
const modelArg = args.includes('--model') ? args[args.indexOf('--model') + 1] : undefined;
const outdir = path.join(root, 'dist');

export const DEV_SERVER_MODULE = 'out/server/lsp/server.js';
export const BUNDLED_SERVER_MODULE = 'dist/server.js';

/** Rewrites the client's SERVER_MODULE constant to the bundled server's path. */
const serverModulePlugin = {
  name: 'server-module-path',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]serverClient\.ts$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      const pattern = /(export\s+const\s+SERVER_MODULE\s*=\s*)(['"])([^'"]+)\2/;
      const match = pattern.exec(source);
      if (!match) {
        return { errors: [{ text: `src/serverClient.ts: no \`export const SERVER_MODULE = '...'\` to point at ${BUNDLED_SERVER_MODULE}` }] };
      }
      if (match[3] !== DEV_SERVER_MODULE && match[3] !== BUNDLED_SERVER_MODULE) {
        return { errors: [{ text: `src/serverClient.ts: SERVER_MODULE is '${match[3]}', expected '${DEV_SERVER_MODULE}' (update scripts/bundle.mjs)` }] };
      }
      return { contents: source.replace(pattern, `$1$2${BUNDLED_SERVER_MODULE}$2`), loader: 'ts' };
    });
  },
};

const defaultModelBanner = [
  '// Shipped default model: <extension>/native/models/default (see scripts/bundle.mjs).',
  'if (!process.env.RECURRENT_COPILOT_DEFAULT_MODEL) {',
  "  process.env.RECURRENT_COPILOT_DEFAULT_MODEL = require('path').join(__dirname, '..', 'native', 'models', 'default');",
  '}',
].join('\n');

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  metafile: true,
  absWorkingDir: root,
  // @huggingface/tokenizers is "type": "module" with a "require" export; pick the CJS build.
  conditions: ['node', 'require'],
  mainFields: ['main', 'module'],
};

const entries = [
  { in: 'src/extension.ts', out: 'extension.js', external: ['vscode'], plugins: [serverModulePlugin] },
  { in: 'server/lsp/server.ts', out: 'server.js', external: ['onnxruntime-node'], banner: { js: defaultModelBanner } },
  { in: 'server/engine/engineWorker.ts', out: 'engineWorker.js', external: ['onnxruntime-node'] },
  { in: 'server/engine/webgpuProbe.ts', out: 'webgpuProbe.js', external: ['onnxruntime-node'] },
];

/** The bundles that may load onnxruntime: the engine's worker and the WebGPU probe's process. */
const ONNXRUNTIME_BUNDLES = ['engineWorker.js', 'webgpuProbe.js'];

/** Writes dist/extension.js, dist/server.js, dist/engineWorker.js and dist/webgpuProbe.js; returns their sizes. */
export async function bundle({ minify = false, sourcemap = false } = {}) {
  fs.rmSync(outdir, { recursive: true, force: true });
  const results = [];
  for (const entry of entries) {
    const started = Date.now();
    const result = await esbuild.build({
      ...common,
      minify,
      sourcemap: sourcemap ? 'linked' : false,
      entryPoints: [path.join(root, entry.in)],
      outfile: path.join(outdir, entry.out),
      external: entry.external,
      plugins: entry.plugins ?? [],
      banner: entry.banner,
    });
    const file = path.join(outdir, entry.out);
    const inputs = Object.keys(result.metafile.inputs);
    // The client must never pull in the engine, and the server's main thread must not load
    // onnxruntime (the worker does): catch an accidental import here rather than in VS Code.
    if (entry.out === 'extension.js' && inputs.some((i) => i.startsWith('server/engine/') || i.startsWith('server/lsp/'))) {
      throw new Error(`dist/extension.js pulled in server code: ${inputs.filter((i) => i.startsWith('server/')).join(', ')}`);
    }
    const output = result.metafile.outputs[path.relative(root, file)];
    if (!output) throw new Error(`esbuild metafile has no output for ${entry.out}`);
    if (!ONNXRUNTIME_BUNDLES.includes(entry.out) && output.imports.some((i) => i.path === 'onnxruntime-node')) {
      throw new Error(`dist/${entry.out} requires onnxruntime-node: only the engine worker and the WebGPU probe may load it`);
    }
    results.push({ file: path.relative(root, file), bytes: fs.statSync(file).size, inputs: inputs.length, ms: Date.now() - started });
  }
  return results;
}

/**
 * Starts a bundled server over stdio and checks that it answers initialize; with a model (`model`,
 * or `shipped`: the one the bundle's banner finds beside it), also that the model loads and a
 * completion comes back.
 */
export async function checkServer(serverJs, { model, shipped = false } = {}) {
  const env = { ...process.env };
  if (model) env.RECURRENT_COPILOT_DEFAULT_MODEL = path.resolve(model);
  else if (shipped) delete env.RECURRENT_COPILOT_DEFAULT_MODEL;
  const waitForModel = Boolean(model || shipped);
  const child = spawn(process.execPath, [serverJs, '--stdio'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const within = (promise, what, ms) => {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${path.relative(root, serverJs)}: no ${what} within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  // The server announces its model's state; register before listening so none is missed. A
  // checkpoint (the shipped default model) is built first: `building`, then `loading` again.
  const loaded = new Promise((resolve) => {
    connection.onNotification('recurrent/status', (status) => {
      if (status.state === 'ready' || status.state === 'error') resolve(status);
    });
  });
  connection.listen();
  try {
    const init = await within(connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: {} }), 'initialize response', 20_000);
    if (!init?.capabilities?.inlineCompletionProvider) throw new Error(`initialize: no inlineCompletionProvider in ${JSON.stringify(init)}`);
    await connection.sendNotification('initialized', {});
    console.log(`check: ${path.relative(root, serverJs)} answered initialize (inline completions advertised)`);
    if (!waitForModel) return;
    const ready = await within(loaded, 'model load', 120_000);
    if (ready.state !== 'ready') throw new Error(`model did not load: ${ready.message}`);
    console.log(`check: model loaded from ${ready.model} on ${ready.device}${ready.adapter ? ` (${ready.adapter})` : ''}${ready.deviceReason ? `: ${ready.deviceReason}` : ''}`);
    const uri = 'file:///check.py';
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text: 'def add(a, b):\n    return ' } });
    const completion = await within(
      connection.sendRequest('textDocument/inlineCompletion', {
        textDocument: { uri },
        position: { line: 1, character: 11 },
        context: { triggerKind: 1 },
        budget: { level: 1, steps: 2, exitThreshold: null, maxTokens: 8, timeCapMs: 5000, multiline: false },
      }),
      'completion',
      60_000,
    );
    const items = Array.isArray(completion) ? completion : completion?.items ?? [];
    console.log(`check: completion answered with ${items.length} item(s): ${JSON.stringify(items[0]?.insertText ?? '')}`);
  } finally {
    connection.dispose();
    child.kill();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const started = Date.now();
  try {
    const results = await bundle({ minify, sourcemap });
    for (const r of results) console.log(`${r.file.padEnd(22)} ${(r.bytes / 1024).toFixed(0).padStart(6)} KiB  (${r.inputs} inputs, ${r.ms} ms)`);
    console.log(`bundled in ${Date.now() - started} ms`);
    if (args.includes('--check')) await checkServer(path.join(outdir, 'server.js'), { model: modelArg ?? process.env.RECURRENT_COPILOT_DEFAULT_MODEL });
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
