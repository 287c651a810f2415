import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '../../..');
const srcDir = path.join(root, 'src');
const sources = fs.readdirSync(srcDir).filter((f) => f.endsWith('.ts'));
const importsOf = (file: string) =>
  [...fs.readFileSync(path.join(srcDir, file), 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/g)].map((m) => m[1]);

/** Modules that must run in plain Node (unit-tested without VS Code). */
const PURE = [
  'abortable', 'commandIds', 'completionItems', 'computeMapLayout', 'config', 'cursorContext', 'depthPolicy',
  'depthSession', 'serverStatusStore', 'settingsHtml', 'settingsMessages', 'statusView',
];

describe('client module boundaries', function () {
  it('src/ imports nothing of server/ but server/protocol, and never the engine', function () {
    for (const file of sources) {
      for (const spec of importsOf(file)) {
        if (spec.startsWith('../')) assert.strictEqual(spec, '../server/protocol', `${file} imports ${spec}`);
        assert.ok(!/engine|onnxruntime/.test(spec), `${file} imports ${spec}`);
      }
    }
  });

  it('pure modules import neither vscode nor the language client', function () {
    for (const name of PURE) {
      for (const spec of importsOf(`${name}.ts`)) {
        assert.ok(!/^vscode/.test(spec), `${name} imports ${spec}`);
      }
    }
  });

  it('pure modules load in plain Node', function () {
    for (const name of PURE) require(path.join(root, 'out', 'src', `${name}.js`));
  });
});
