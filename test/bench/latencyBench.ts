// npm run bench:latency — time from an inline-completion request to its answer, through the real
// language server process over stdio, on the default model, at each depth level, for typical
// editing positions. Prints p50/p95 per level for single-line and multi-line completions.
import { LspSession } from '../helpers/lspClient';

const STEPS_PER_LEVEL = [2, 4, 8, 16, 32];
const ROUNDS = Number(process.env.LATENCY_ROUNDS ?? 3);

const LONG_FILE = Array.from({ length: 40 }, (_, i) => `def helper_${i}(x, y):\n    return x * ${i} + y\n`).join('\n') + '\n';
// The long file with the cursor at the end of an unfinished line.
const LONG_TEXT = LONG_FILE + 'def summary(rows):\n    total = 0\n    for r in rows:\n        total += ';
const LONG_LINE = LONG_TEXT.split('\n').length - 1;

// Documents with cursor positions: [text, line, character, multiline].
const CASES: [string, string, number, number, boolean][] = [
  ['py', 'def area(r):\n    return 3.14159 * r * r\n\ndef perimeter(r):\n    return ', 4, 11, false],
  ['py', 'total = 0\nfor x in values:\n    total += ', 2, 13, false],
  ['py', 'def mean(xs):\n    ', 1, 4, true],
  ['js', 'function clamp(x, lo, hi) {\n  return Math.min(', 1, 18, false],
  ['js', 'const items = [];\nfor (let i = 0; i < 10; i++) {\n  ', 2, 2, true],
  ['md', 'The sum $3 + 4 = ', 0, 17, false],
  ['py', 'a = 3\nq = 5\nb = a\nc = b\nprint(c)\n', 4, 0, false],
  ['py', 'x = compute(a, b', 0, 16, false],
  // A long file: the 2,000-character prefix window, cut to the model's context.
  ['py', LONG_TEXT, LONG_LINE, LONG_TEXT.split('\n')[LONG_LINE].length, false],
];

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main() {
  const lsp = new LspSession({});
  await lsp.initialize({ device: 'cpu' });
  const status = await lsp.waitForState(['ready', 'error'], 120_000);
  if (status.state !== 'ready') throw new Error(`server not ready: ${status.message}`);
  console.log(`model ${status.model} on ${status.device}; ${CASES.length} positions x ${ROUNDS} rounds per level; each request has a fresh prefix (no cache hits)\n`);
  console.log('| level | steps | kind        | p50 ms | p95 ms | mean tokens |');
  console.log('|------:|------:|-------------|-------:|-------:|------------:|');
  let n = 0;
  for (let level = 0; level < STEPS_PER_LEVEL.length; level++) {
    for (const multi of [false, true]) {
      const times: number[] = [];
      let tokens = 0;
      for (let round = 0; round < ROUNDS; round++) {
        for (const [ext, text, line, character, multiline] of CASES) {
          if (multiline !== multi) continue;
          // A unique first line defeats the completion cache, as fresh typing would.
          const uri = `file:///bench/doc${n++}.${ext}`;
          lsp.open(uri, `${ext === 'js' ? '//' : '#'} ${n}\n${text}`, ext === 'js' ? 'javascript' : ext === 'md' ? 'markdown' : 'python');
          const budget = { level, steps: STEPS_PER_LEVEL[level], exitThreshold: 1e-3, maxTokens: multi ? 48 : 16, timeCapMs: 5000, multiline: multi };
          const t0 = performance.now();
          const r = await lsp.complete(uri, line + 1, character, budget);
          times.push(performance.now() - t0);
          tokens += r.items[0]?.recurrent.tokens.length ?? 0;
        }
      }
      console.log(`| ${String(level).padStart(5)} | ${String(STEPS_PER_LEVEL[level]).padStart(5)} | ${(multi ? 'multi-line' : 'single-line').padEnd(11)} | ${percentile(times, 50).toFixed(0).padStart(6)} | ${percentile(times, 95).toFixed(0).padStart(6)} | ${(tokens / times.length).toFixed(1).padStart(11)} |`);
    }
  }
  // Typing at the end of a long file (2,000-character prefix window, cut to the model's context):
  // each keystroke's request reuses the previous prompt's KV cache up to where they differ.
  const uri = 'file:///bench/typing.py';
  let col = LONG_TEXT.split('\n')[LONG_LINE].length;
  lsp.open(uri, LONG_TEXT, 'python');
  const typing: number[] = [];
  for (let i = 0; i < 12; i++) {
    lsp.insert(uri, LONG_LINE, col, 'r');
    col++;
    const t0 = performance.now();
    await lsp.complete(uri, LONG_LINE, col, { level: 2, steps: STEPS_PER_LEVEL[2], exitThreshold: 1e-3, maxTokens: 16, timeCapMs: 5000, multiline: false });
    if (i > 0) typing.push(performance.now() - t0); // the first one is the cold prefill
  }
  console.log(`\ntyping at the end of a long file (level 2, prompt cache): p50 ${percentile(typing, 50).toFixed(0)} ms, p95 ${percentile(typing, 95).toFixed(0)} ms`);
  await lsp.close();
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
