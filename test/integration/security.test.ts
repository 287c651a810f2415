// Nothing leaves the machine: the server process opens no network socket, and the project's own
// code imports no networking module.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { LspSession } from '../helpers/lspClient';
import { builtModel, REPO } from '../helpers/reference';

/** Inodes of the machine's TCP and UDP sockets (IPv4 and IPv6). */
function inetSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
    const file = `/proc/net/${table}`;
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9) inodes.add(cols[9]);
    }
  }
  return inodes;
}

function socketInodesOf(pid: number): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.push(m[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : /\.(ts|js|mjs)$/.test(e.name) ? [p] : [];
  });
}

describe('no network', function () {
  it('the language server and its engine worker open no TCP or UDP socket', async function () {
    if (process.platform !== 'linux') this.skip();
    const model = await builtModel({ nEmbd: 32, nHeads: 2, prelude: 1, core: 1, coda: 1, intermediate: 48, vocab: 300 }, 'sec');
    const lsp = new LspSession({ RECURRENT_COPILOT_DEFAULT_MODEL: model });
    try {
      await lsp.initialize({ device: 'cpu' });
      await lsp.waitForState(['ready']);
      lsp.open('file:///a.py', 'x = 1\ny = ');
      await lsp.complete('file:///a.py', 1, 4, { steps: 2, maxTokens: 4 });
      const inet = inetSocketInodes();
      const mine = socketInodesOf(lsp.proc.pid!);
      assert.ok(mine.length > 0, 'expected the stdio socket pair to be visible'); // the check can see sockets
      assert.deepStrictEqual(mine.filter((i) => inet.has(i)), []);
    } finally {
      await lsp.close();
    }
  });

  it('the extension, server and engine import no networking module and call no fetch', function () {
    const offenders: string[] = [];
    for (const dir of ['src', 'server', 'native/builder']) {
      for (const file of sourceFiles(path.join(REPO, dir))) {
        const text = fs.readFileSync(file, 'utf8');
        if (/(from|require\()\s*['"](node:)?(http|https|http2|net|dgram|tls|dns)['"]/.test(text) || /\bfetch\s*\(/.test(text) || /\bWebSocket\b/.test(text)) {
          offenders.push(path.relative(REPO, file));
        }
      }
    }
    assert.deepStrictEqual(offenders, []);
  });
});
