// The editor's other open documents that the document cache (server/engine/documentCache.ts) reads
// besides the one being edited: a file's names and phrases are often defined or used in the files
// open beside it (its imports, its tests, the module it calls). The most recently changed ones of
// the same language family come first.
import { TextDocument } from 'vscode-languageserver-textdocument';
import { safeSlice } from '../engine/prompt';

/** How many other open documents the cache reads, and how much of each (from its start, where
 *  imports and definitions sit). On bench:quality with random files of the cursor's package open,
 *  exact lines rose with every file added up to 12 (246, 260, 274 of 900 with 0, 4, 12); a file
 *  costs about 20 ms of tokenizing the first time it is read, then almost nothing. */
export const NEIGHBOR_DOCS = 12;
export const NEIGHBOR_CHARS = 16_000;

/** Languages whose files name each other's code: JavaScript and TypeScript (with JSX) are one. */
export function languageFamily(languageId: string): string {
  return /^(java|type)script(react)?$/.test(languageId) ? 'js' : languageId;
}

/** When each open document last changed (opening counts), to put the latest first. */
export class RecentDocuments {
  private readonly changed = new Map<string, number>();
  private clock = 0;

  touch(uri: string): void {
    this.changed.set(uri, ++this.clock);
  }

  forget(uri: string): void {
    this.changed.delete(uri);
  }

  /** Up to NEIGHBOR_DOCS documents of `open` besides `doc`, of its language family, the most
   *  recently changed first. */
  neighborsOf(doc: TextDocument, open: readonly TextDocument[]): TextDocument[] {
    const family = languageFamily(doc.languageId);
    const when = (d: TextDocument) => this.changed.get(d.uri) ?? 0;
    return open
      .filter((d) => d.uri !== doc.uri && languageFamily(d.languageId) === family)
      .sort((a, b) => when(b) - when(a))
      .slice(0, NEIGHBOR_DOCS);
  }
}

/** The text of `neighbors` the document cache reads: each one's first NEIGHBOR_CHARS characters
 *  (one less where that would split a surrogate pair). */
export function neighborTexts(neighbors: readonly TextDocument[]): string[] {
  return neighbors.map((d) => {
    const text = d.getText();
    return safeSlice(text, 0, Math.min(text.length, NEIGHBOR_CHARS));
  });
}
