// Imports between the top-level folders run one way: src/ (the client) -> server/protocol only,
// server/ -> native/, and native/ (model formats, builder, trainer) imports neither.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '../../..');
const FOLDERS = ['src', 'server', 'native'] as const;
type Folder = (typeof FOLDERS)[number];

/** Which other top-level folders each folder may import from. */
const ALLOWED: Record<Folder, Folder[]> = { src: ['server'], server: ['native'], native: [] };

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'data' ? [] : sourcesUnder(p);
    return /\.(ts|mjs|js)$/.test(e.name) ? [p] : [];
  });
}

/** Relative module specifiers of a file's imports, exports and requires. */
function relativeImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s+|\brequire\(\s*|\bimport\(\s*)'(\.[^']*)'/g)].map((m) => m[1]);
  return specs;
}

/** The top-level folder a specifier resolves into (undefined: outside the three). */
function folderOf(file: string, spec: string): Folder | undefined {
  const target = path.relative(root, path.resolve(path.dirname(file), spec)).split(path.sep)[0];
  return (FOLDERS as readonly string[]).includes(target) ? (target as Folder) : undefined;
}

describe('folder boundaries', function () {
  for (const folder of FOLDERS) {
    it(`${folder}/ imports only from ${ALLOWED[folder].length ? ALLOWED[folder].join(', ') + '/' : 'itself'}`, function () {
      const files = sourcesUnder(path.join(root, folder));
      assert.ok(files.length > 0, `no sources under ${folder}/`);
      for (const file of files) {
        for (const spec of relativeImports(file)) {
          const target = folderOf(file, spec);
          if (target === undefined || target === folder) continue;
          assert.ok(ALLOWED[folder].includes(target), `${path.relative(root, file)} imports ${spec} (${folder}/ -> ${target}/)`);
        }
      }
    });
  }

  it('the check sees a reverse import', function () {
    const probe = path.join(root, 'native', 'builder', 'build.ts');
    assert.strictEqual(folderOf(probe, '../../server/engine/engine'), 'server');
    assert.strictEqual(folderOf(probe, '../model/manifest'), 'native');
    assert.deepStrictEqual(relativeImports(path.join(root, 'server', 'cli.ts')).filter((s) => s.includes('native/')).length > 0, true);
  });
});
