// A real VS Code for the end-to-end tests and `npm start`: code-server (installed by
// scripts/e2e-setup.sh into the tools cache, run by its own Node 24) with a private profile, the
// extension installed from the VSIX or linked from this folder, a small sample workspace, and
// nothing that reaches the network.

import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const TOOLS = process.env.RECURRENT_COPILOT_TOOLS ?? path.join(os.homedir(), '.cache', 'recurrent-copilot');
/** Written by scripts/e2e-setup.sh: runs code-server with its Node 24. */
export const CODE_SERVER = path.join(TOOLS, 'code-server');
export const EXTENSION_ID = 'recurrent-copilot.recurrent-copilot';
export const SHIPPED_MODEL = path.join(REPO, 'native', 'models', 'default');

export function requireTools(): void {
  if (!fs.existsSync(CODE_SERVER)) {
    throw new Error(`code-server is not installed (${CODE_SERVER} missing): run \`npm run e2e:setup\` first`);
  }
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const result = spawnSync(command, args, { cwd: options.cwd ?? REPO, env: options.env ?? process.env, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/**
 * A tiny random model (width 64, vocab 512) for the tests: its text is garbage, but it runs the
 * whole path (tokenizer, prelude, recurrent core, coda, language server) in milliseconds. Built
 * once into the tools cache; needs Debian's python3-torch for the checkpoint.
 */
export function ensureTestModel(): string {
  const dir = path.join(TOOLS, 'e2e-model');
  const model = path.join(dir, 'model');
  if (fs.existsSync(path.join(model, 'manifest.json'))) return model;
  const checkpoint = path.join(dir, 'checkpoint');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  run('/usr/bin/python3', [
    path.join(REPO, 'native', 'reference', 'make_checkpoint.py'),
    ...['--out', checkpoint, '--n-embd', '64', '--n-heads', '4', '--prelude', '1', '--core', '2', '--coda', '1'],
    ...['--intermediate', '128', '--vocab', '512'],
  ]);
  run(process.execPath, [path.join(REPO, 'bin', 'recurrent-copilot.js'), 'build', '--checkpoint', checkpoint, '--out', model]);
  return model;
}

/** Bundles and packages the extension (scripts/package.mjs); returns the VSIX path. */
export function packageVsix(): string {
  const vsix = path.join(os.tmpdir(), `recurrent-copilot-e2e-${process.pid}.vsix`);
  run(process.execPath, [path.join(REPO, 'scripts', 'package.mjs'), '--out', vsix]);
  return vsix;
}

export type ExtensionSource = { kind: 'vsix'; vsix: string } | { kind: 'dev' };

export interface Profile {
  root: string;
  userDataDir: string;
  extensionsDir: string;
  workspace: string;
  /** User settings (user-data/User/settings.json). */
  settingsFile: string;
  /** Remote machine settings (user-data/Machine/settings.json): where machine-scoped settings go. */
  machineSettingsFile: string;
}

/**
 * User settings: no chat view, no AI features, nothing that phones home (telemetry, updates,
 * experiments, marketplace, recommendations, schema and type downloads), no welcome page.
 */
export function userSettings(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'chat.disableAIFeatures': true,
    'chat.commandCenter.enabled': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'workbench.startupEditor': 'none',
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.settings.enableNaturalLanguageSearch': false,
    'telemetry.telemetryLevel': 'off',
    'telemetry.feedback.enabled': false,
    'update.mode': 'none',
    'update.showReleaseNotes': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'npm.fetchOnlinePackageInfo': false,
    'json.schemaDownload.enable': false,
    'typescript.disableAutomaticTypeAcquisition': true,
    'git.autofetch': false,
    'git.openRepositoryInParentFolders': 'never',
    'security.workspace.trust.enabled': false,
    'editor.inlineSuggest.enabled': true,
    ...extra,
  };
}

/**
 * Machine settings. code-server's window is a remote window, and VS Code does not apply
 * machine-scoped settings (recurrentCopilot.modelPath and .device are `machine-overridable`) from
 * the user settings there: they were read at activation but dropped at the next configuration
 * change. Their place is the remote machine's settings file.
 */
export function machineSettings(modelPath: string | undefined): Record<string, unknown> {
  return modelPath ? { 'recurrentCopilot.modelPath': modelPath } : {};
}

export const SAMPLE_FILES: Record<string, string> = {
  'sample.py': [
    'def add(a, b):',
    '    return a + b',
    '',
    '',
    'def fib(n):',
    '    """Return the n-th Fibonacci number."""',
    '    a, b = 0, 1',
    '    for _ in range(n):',
    '        a, b = b, a + b',
    '    return a',
    '',
    '',
  ].join('\n'),
  // A module whose name appears nowhere else: typed in tool.py, open beside it (the document cache).
  'widgets.py': [
    'import os',
    '',
    '',
    'def frobnicate_widgets(path, depth=3):',
    '    """Walks path."""',
    '    return [os.path.join(path, n) for n in os.listdir(path)]',
    '',
  ].join('\n'),
  'tool.py': ['import os', '', '', 'def main(argv):', '    '].join('\n'),
  'shapes.ts': [
    'export interface Circle {',
    '  radius: number;',
    '}',
    '',
    'export function area(c: Circle): number {',
    '  return Math.PI * c.radius * c.radius;',
    '}',
    '',
    '',
  ].join('\n'),
  'notes.md': [
    '# Notes',
    '',
    'The sum of the first $n$ odd numbers is a square:',
    '',
    '$$\\sum_{k=1}^{n} (2k - 1) = n^2$$',
    '',
    'Proof by induction: for $n = 1$ both sides are $1$. Assume it holds for $n$; then',
    '',
    '',
  ].join('\n'),
  'series.tex': [
    '\\documentclass{article}',
    '\\begin{document}',
    'The geometric series converges for $|x| < 1$:',
    '\\[ \\sum_{k=0}^{\\infty} x^k = \\frac{1}{1 - x} \\]',
    '',
    '\\end{document}',
    '',
  ].join('\n'),
};

/** Writes the sample files that are missing (existing ones are the user's, and kept). */
export function writeSampleWorkspace(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(SAMPLE_FILES)) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) fs.writeFileSync(file, text);
  }
}

/**
 * A private profile under `root`: user-data-dir with settings (Alt+\ for the inline-suggest
 * trigger comes from the extension's own keybindings), extensions dir
 * with the extension, and the sample workspace.
 */
export function createProfile(
  root: string,
  source: ExtensionSource,
  settings: Record<string, unknown>,
  machine: Record<string, unknown> = {},
): Profile {
  const profile: Profile = {
    root,
    userDataDir: path.join(root, 'user-data'),
    extensionsDir: path.join(root, 'extensions'),
    workspace: path.join(root, 'workspace'),
    settingsFile: path.join(root, 'user-data', 'User', 'settings.json'),
    machineSettingsFile: path.join(root, 'user-data', 'Machine', 'settings.json'),
  };
  fs.mkdirSync(path.dirname(profile.settingsFile), { recursive: true });
  fs.mkdirSync(path.dirname(profile.machineSettingsFile), { recursive: true });
  fs.writeFileSync(profile.settingsFile, JSON.stringify(settings, null, 2) + '\n');
  fs.writeFileSync(profile.machineSettingsFile, JSON.stringify(machine, null, 2) + '\n');
  // An empty config file of our own: otherwise code-server writes ~/.config/code-server/config.yaml.
  fs.writeFileSync(
    path.join(root, 'code-server.yaml'),
    '# Private code-server config (the command-line flags say the same).\nauth: none\ndisable-telemetry: true\ndisable-update-check: true\n',
  );
  fs.rmSync(profile.extensionsDir, { recursive: true, force: true });
  fs.mkdirSync(profile.extensionsDir, { recursive: true });
  if (source.kind === 'vsix') {
    run(CODE_SERVER, [
      ...['--config', path.join(root, 'code-server.yaml')],
      ...['--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir],
      ...['--install-extension', source.vsix, '--force'],
    ], { env: codeServerEnv() });
  } else {
    // The development folder itself (package.json main: out/src/extension.js, built by tsc):
    // VS Code loads the extensions listed in extensions.json from wherever their location says.
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    const entry = {
      identifier: { id: EXTENSION_ID },
      version: manifest.version,
      location: { $mid: 1, scheme: 'file', path: REPO },
      metadata: { installedTimestamp: Date.now(), source: 'vsix' },
    };
    fs.writeFileSync(path.join(profile.extensionsDir, 'extensions.json'), JSON.stringify([entry]));
  }
  writeSampleWorkspace(profile.workspace);
  return profile;
}

/** No marketplace: an extensions gallery without a service URL turns the gallery off. */
function codeServerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, EXTENSIONS_GALLERY: '{}' };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get(url, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', () => resolve(undefined));
    request.setTimeout(2000, () => request.destroy());
  });
}

export interface RunningCodeServer {
  url: string;
  /** The workbench with the workspace open. */
  workspaceUrl: string;
  process: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts code-server on 127.0.0.1 (a free port), in its own process group so that stop() ends it
 * with its extension hosts, language servers and engine workers. Resolves once /healthz answers.
 */
export async function startCodeServer(profile: Profile, options: { port?: number; logFile?: string } = {}): Promise<RunningCodeServer> {
  requireTools();
  const port = options.port ?? (await freePort());
  const logFile = options.logFile ?? path.join(profile.root, 'code-server.log');
  const log = fs.openSync(logFile, 'a');
  const args = [
    ...['--config', path.join(profile.root, 'code-server.yaml')],
    ...['--bind-addr', `127.0.0.1:${port}`],
    ...['--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust'],
    '--disable-getting-started-override',
    '--ignore-last-opened',
    ...['--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir],
  ];
  const child = spawn(CODE_SERVER, args, { detached: true, stdio: ['ignore', log, log], env: codeServerEnv(), cwd: profile.root });
  fs.closeSync(log);
  let exited = false;
  // If this process ends without stop() (an exception, mocha's Ctrl+C), take the group along.
  const killOnExit = () => {
    try {
      if (!exited && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);
  child.once('exit', () => {
    exited = true;
    process.removeListener('exit', killOnExit);
  });

  const stop = async () => {
    if (exited || child.pid === undefined) return;
    const group = -child.pid;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(group, signal);
      } catch {
        // already gone
      }
    };
    kill('SIGTERM');
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    kill('SIGKILL'); // the extension hosts and language servers in the group, if any lingered
  };

  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`code-server exited at start; see ${logFile}:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    if ((await httpStatus(`${url}healthz`)) === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on ${url} within 60 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, workspaceUrl: `${url}?folder=${encodeURIComponent(profile.workspace).replace(/%2F/g, '/')}`, process: child, logFile, stop };
}

/** The extension's output channel as a log file (LogOutputChannel writes one per extension host). */
export function extensionLogFiles(profile: Profile): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === 'Recurrent Copilot.log' && full.includes(EXTENSION_ID)) found.push(full);
    }
  };
  walk(path.join(profile.userDataDir, 'logs'));
  return found.sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
}
