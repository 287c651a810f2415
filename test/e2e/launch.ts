// `npm start` (scripts/start.sh runs this after setup and build): VS Code in the browser with the
// extension, on a sample workspace, until Ctrl+C.
//
//   node out/test/e2e/launch.js [--dev] [--port N] [--model DIR]
//
// --dev     load the extension from this folder (tsc's out/) instead of packaging a VSIX
// --model   model folder; default: native/models/default when it exists (it ships in the VSIX),
//           otherwise a tiny random test model (garbage text, but real ghost text)
// The profile (settings, extensions, workspace) lives in <tools cache>/start and is kept between
// runs, so edits to the sample files and settings survive; the extension is reinstalled each time.

import * as fs from 'fs';
import * as path from 'path';
import { createProfile, ensureTestModel, machineSettings, packageVsix, requireTools, SHIPPED_MODEL, startCodeServer, TOOLS, userSettings } from './codeServer';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]): Promise<void> {
  requireTools();
  const dev = args.includes('--dev');
  const root = path.join(TOOLS, 'start');
  fs.mkdirSync(root, { recursive: true });

  let model = option(args, '--model');
  let modelNote: string;
  if (model) {
    model = path.resolve(model);
    modelNote = `model: ${model}`;
  } else if (fs.existsSync(path.join(SHIPPED_MODEL, 'manifest.json')) || fs.existsSync(path.join(SHIPPED_MODEL, 'config.json'))) {
    modelNote = `model: the shipped default (${SHIPPED_MODEL})`;
  } else {
    model = ensureTestModel();
    modelNote = `model: ${model} (native/models/default is not there yet: a tiny RANDOM test model, its completions are garbage)`;
  }

  let source: Parameters<typeof createProfile>[1];
  if (dev) {
    source = { kind: 'dev' };
  } else {
    console.log('packaging the extension (scripts/package.mjs)...');
    source = { kind: 'vsix', vsix: packageVsix() };
  }

  // Keep the user's own settings changes from earlier runs; ours win where they overlap.
  const readJson = (file: string): Record<string, unknown> => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      return {}; // first run, or a file with comments: start from ours
    }
  };
  const settings = { ...readJson(path.join(root, 'user-data', 'User', 'settings.json')), ...userSettings() };
  const machine = readJson(path.join(root, 'user-data', 'Machine', 'settings.json'));
  delete machine['recurrentCopilot.modelPath']; // machineSettings(model) sets it when a model is given
  const profile = createProfile(root, source, settings, { ...machine, ...machineSettings(model) });
  if (source.kind === 'vsix') fs.rmSync(source.vsix, { force: true });

  const port = option(args, '--port');
  const server = await startCodeServer(profile, { port: port ? Number(port) : undefined });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping code-server...`);
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  server.process.once('exit', (code) => {
    if (stopping) return;
    console.error(`code-server exited (${code}); see ${server.logFile}`);
    process.exit(1);
  });

  console.log('');
  console.log(`  Recurrent Copilot in VS Code (code-server), extension from ${dev ? 'this folder (out/)' : 'the VSIX'}`);
  console.log(`  ${modelNote}`);
  console.log(`  workspace: ${profile.workspace}`);
  console.log(`  logs: ${server.logFile}, ${path.join(profile.userDataDir, 'logs')}`);
  console.log('');
  console.log(`  Open: ${server.workspaceUrl}`);
  console.log('');
  console.log('  Alt+\\ asks for a completion, Tab accepts; Ctrl+Alt+] thinks harder. Ctrl+C stops.');
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
