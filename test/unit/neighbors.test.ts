import * as assert from 'assert';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { languageFamily, NEIGHBOR_CHARS, NEIGHBOR_DOCS, neighborTexts, RecentDocuments } from '../../server/lsp/neighbors';

const doc = (name: string, languageId: string, text = `# ${name}\n`) => TextDocument.create(`file:///w/${name}`, languageId, 1, text);

describe('neighbors: the other open documents the document cache reads', function () {
  it('JavaScript and TypeScript (and their JSX) are one family, other languages their own', function () {
    assert.deepStrictEqual(['javascript', 'typescript', 'typescriptreact', 'javascriptreact'].map(languageFamily), ['js', 'js', 'js', 'js']);
    assert.strictEqual(languageFamily('python'), 'python');
    assert.strictEqual(languageFamily('java'), 'java');
  });

  it('are the same family besides the document itself, the most recently changed first, at most NEIGHBOR_DOCS', function () {
    const recent = new RecentDocuments();
    const self = doc('main.ts', 'typescript');
    const js = Array.from({ length: NEIGHBOR_DOCS + 2 }, (_, i) => doc(`m${i}.js`, 'javascript'));
    const py = doc('tool.py', 'python');
    const open = [self, py, ...js];
    for (const d of [...js, py, self]) recent.touch(d.uri);
    recent.touch(js[1].uri);
    const got = recent.neighborsOf(self, open).map((d) => d.uri);
    assert.strictEqual(got.length, NEIGHBOR_DOCS);
    assert.deepStrictEqual(got.slice(0, 3), [js[1], js[js.length - 1], js[js.length - 2]].map((d) => d.uri));
    assert.ok(!got.includes(self.uri) && !got.includes(py.uri));
    // a document never touched (opened before tracking) comes last; a forgotten one likewise
    recent.forget(js[1].uri);
    assert.notStrictEqual(recent.neighborsOf(self, open)[0].uri, js[1].uri);
    assert.deepStrictEqual(recent.neighborsOf(py, open), []);
  });

  it('reads each one from its start, NEIGHBOR_CHARS at most, never half a surrogate pair', function () {
    const long = 'x'.repeat(NEIGHBOR_CHARS - 1) + '\u{1F600}tail';
    const [cut, short] = neighborTexts([doc('a.py', 'python', long), doc('b.py', 'python', 'b = 1\n')]);
    assert.strictEqual(cut, 'x'.repeat(NEIGHBOR_CHARS - 1));
    assert.strictEqual(short, 'b = 1\n');
    assert.strictEqual(neighborTexts([doc('c.py', 'python', 'y'.repeat(NEIGHBOR_CHARS + 5))])[0].length, NEIGHBOR_CHARS);
  });
});
