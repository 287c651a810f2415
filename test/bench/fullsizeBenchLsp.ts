// bench:fullsize through the language server: a real server process (LspSession, as VS Code
// spawns it) on the built full-size model, the way a user meets it. Per depth level: open a
// ~2,000-character Python file, send recurrent/prefill at its end with the level's budget (as the
// client does 600 ms after the user pauses), let the file stay open FULLSIZE_LSP_WAIT_S (60 s),
// then type one character at the end and ask for an inline completion with the client's budget at
// that level (default settings: 2 s cap). The figures are the time from that request to the first
// answer the model generated tokens for, and to the first non-empty ghost text (random weights
// write bytes that post-processing cuts); when an answer is empty, the user types the next
// character and the editor asks again, up to FULLSIZE_LSP_CAP_S. After the first ghost text, one more keystroke measures a request
// whose prompt is already cached. The server's CPU time is sampled every second of the wait, to
// see how long the background prefill ran. FULLSIZE_LSP_PROMPT_TOKENS=N keeps only the file's
// last lines that make a prompt of at most N tokens (the prompt's length, not its characters,
// decides the time: a checkpoint's tokenizer may compress code much less than a trained one).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { intraOpThreads } from '../../server/engine/huginnModel';
import { TextTokenizer } from '../../server/engine/tokenizer';
import { DEFAULT_BUDGET, DepthBudget, Methods, PrefillParams, ProgressParams, ServerStatus } from '../../server/protocol';
import { DEFAULT_SETTINGS } from '../../server/lsp/settings';
import { LspSession } from '../helpers/lspClient';
import { processMemory } from './fullsizeBenchRun';

export interface LspRequest {
  /** The character typed just before this request. */
  typed: string;
  /** Request sent -> answer, in seconds. */
  seconds: number;
  text: string;
  /** Generated tokens behind the shown text and their mean iterations (the item's compute map). */
  tokens: number;
  meanIterations: number | null;
  /** Tokens the model generated for the request (its progress notifications), shown or not. */
  generated: number;
}

export interface LspLevel {
  level: number;
  steps: number;
  chars: number;
  /** The prompt's tokens as the server builds it (document start + the file before the cursor). */
  promptTokens: number;
  waitSeconds: number;
  /** Seconds after the prefill notification until the server went idle (null: still busy at the
   *  end of the wait), and its CPU seconds during the wait. */
  prefillBusySeconds: number | null;
  cpuSecondsDuringWait: number;
  requests: LspRequest[];
  /** From the first request sent to the first non-empty answer; null when none came within the cap. */
  toGhostSeconds: number | null;
  /** From the first request sent to the first answer the model generated tokens for, shown or not
   *  (random weights write bytes that post-processing cuts: this is when a trained model's ghost
   *  text would show); null when none came within the cap. */
  toAnswerSeconds: number | null;
  /** The keystroke after the first ghost text (its prompt cached but for the last tokens). */
  next?: LspRequest;
  rssBytes: number;
  hwmBytes: number;
}

export interface LspFigures {
  skipped?: string;
  loadSeconds?: number;
  /** The server engine's intra-op threads (it picks them by the model's size: intraOpThreads). */
  threads?: number;
  beamWidth?: number;
  levels: LspLevel[];
  status?: ServerStatus;
}

const WAIT_S = Number(process.env.FULLSIZE_LSP_WAIT_S ?? 60);
const CAP_S = Number(process.env.FULLSIZE_LSP_CAP_S ?? 300);
const PROMPT_TOKENS = process.env.FULLSIZE_LSP_PROMPT_TOKENS ? Number(process.env.FULLSIZE_LSP_PROMPT_TOKENS) : undefined;
/** Per-second CPU use below this fraction of a core counts as idle. */
const IDLE_CPU = 0.2;

/** A realistic ~2,000-character Python module that ends inside an expression, and what the user
 *  goes on typing there. `variant` renames its nouns, so each level gets a file of its own. */
export function pythonFile(variant: 0 | 1): { text: string; typing: string } {
  let text = `"""Inventory bookkeeping: orders, line items and the totals a report needs."""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator


@dataclass
class LineItem:
    sku: str
    description: str
    price: float
    quantity: int = 1

    @property
    def subtotal(self) -> float:
        return round(self.price * self.quantity, 2)


@dataclass
class Order:
    number: int
    customer: str
    placed: dt.date
    items: list[LineItem] = field(default_factory=list)
    discount: float = 0.0

    def add(self, item: LineItem) -> None:
        if item.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {item.quantity}")
        self.items.append(item)


def read_orders(path: Path) -> Iterator[Order]:
    current: Order | None = None
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            number = int(row["order"])
            if current is None or current.number != number:
                if current is not None:
                    yield current
                placed = dt.date.fromisoformat(row["date"])
                current = Order(number, row["customer"], placed)
            item = LineItem(row["sku"], row["description"], float(row["price"]), int(row["quantity"]))
            current.add(item)
    if current is not None:
        yield current


def by_customer(orders: Iterable[Order]) -> dict[str, list[Order]]:
    grouped: dict[str, list[Order]] = {}
    for order in orders:
        grouped.setdefault(order.customer, []).append(order)
    return grouped


class Report:
    def __init__(self, orders: Iterable[Order], since: dt.date | None = None) -> None:
        self.orders = [o for o in orders if since is None or o.placed >= since]

    def revenue(self) -> float:
        return sum(self.total(order) for order in self.orders)

    def total(self, order: Order) -> float:
        gross = sum(`;
  if (variant === 1) {
    text = text.replace(/Orders?\b/g, (m) => m.replace('Order', 'Invoice')).replace(/\borders?\b/g, (m) => m.replace('order', 'invoice'));
    text = text.replace(/LineItem/g, 'Entry').replace(/Inventory bookkeeping/, 'Billing');
  }
  const typing = variant === 0 ? 'item.subtotal for item in order.items)' : 'entry.subtotal for entry in invoice.items)';
  return { text, typing };
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system, all threads) the process has used. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The end of `text`, from a line start, whose prompt (document start + its tokens) fits `tokens`. */
function lastLinesWithin(text: string, tokenizer: TextTokenizer, tokens: number): string {
  const lines = text.split('\n');
  let from = lines.length - 1;
  while (from > 0 && 1 + tokenizer.encodeUntrusted(lines.slice(from - 1).join('\n')).length <= tokens) from--;
  return lines.slice(from).join('\n');
}

async function oneLevel(s: LspSession, pid: number, tokenizer: TextTokenizer, level: number, steps: number, variant: 0 | 1, log: (l: string) => void, progress: ProgressParams[]): Promise<LspLevel> {
  const file = pythonFile(variant);
  const text = PROMPT_TOKENS ? lastLinesWithin(file.text, tokenizer, PROMPT_TOKENS) : file.text;
  const typing = file.typing;
  const uri = `file:///bench/fullsize-level${level}.py`;
  const lines = text.split('\n');
  const line = lines.length - 1;
  let character = lines[line].length;
  // The client's budget at this level with the default settings (typing, mid-expression: one line).
  const budget: DepthBudget = { level, steps, exitThreshold: DEFAULT_BUDGET.exitThreshold, maxTokens: DEFAULT_BUDGET.maxTokens, timeCapMs: DEFAULT_BUDGET.timeCapMs, multiline: false };
  const promptTokens = 1 + tokenizer.encodeUntrusted(text).length;

  const opened = performance.now();
  s.open(uri, text);
  await sleep(600); // the client's pause before it sends the prefill
  const prefill: PrefillParams = { textDocument: { uri }, position: { line, character }, budget };
  await s.conn.sendNotification(Methods.prefill, prefill);
  const sentAt = performance.now();
  const cpu0 = cpuSeconds(pid);
  let last = cpu0;
  let busyUntil: number | null = 0;
  while (performance.now() - opened < WAIT_S * 1000) {
    await sleep(1000);
    const now = cpuSeconds(pid);
    if (now - last >= IDLE_CPU) busyUntil = (performance.now() - sentAt) / 1000;
    last = now;
  }
  const cpuSecondsDuringWait = last - cpu0;
  // still busy in the last second of the wait: the prefill had not finished
  const waited = (performance.now() - sentAt) / 1000;
  const prefillBusySeconds = busyUntil !== null && waited - busyUntil < 1.5 ? null : busyUntil;
  log(`lsp level ${level}: ${promptTokens} prompt tokens; prefill ${prefillBusySeconds === null ? 'still running' : `busy for ${prefillBusySeconds.toFixed(0)} s`} after ${waited.toFixed(0)} s (${cpuSecondsDuringWait.toFixed(0)} CPU s)`);

  /** Types `ch` at the end and asks for ghost text there. */
  const keystroke = async (ch: string): Promise<LspRequest> => {
    s.insert(uri, line, character, ch);
    character += 1;
    const t = performance.now();
    progress.length = 0;
    const answer = await s.complete(uri, line, character, budget);
    const seconds = (performance.now() - t) / 1000;
    const item = answer.items[0];
    const tokens = item?.recurrent.tokens ?? [];
    return {
      typed: ch,
      seconds,
      text: item?.insertText ?? '',
      tokens: tokens.length,
      meanIterations: tokens.length ? tokens.reduce((a, b) => a + b.iterations, 0) / tokens.length : null,
      generated: Math.max(0, ...progress.filter((p) => p.uri === uri).map((p) => p.tokens)),
    };
  };
  const requests: LspRequest[] = [];
  const firstSent = performance.now();
  let toGhostSeconds: number | null = null;
  let toAnswerSeconds: number | null = null;
  let next: LspRequest | undefined;
  const chars = [...typing];
  while (chars.length > 0) {
    const req = await keystroke(chars.shift()!);
    requests.push(req);
    log(`lsp level ${level}: request ${requests.length} (typed ${JSON.stringify(req.typed)}): ${req.seconds.toFixed(2)} s, ${req.generated} tokens, ${JSON.stringify(req.text)}`);
    if (req.generated > 0) toAnswerSeconds ??= (performance.now() - firstSent) / 1000;
    if (req.text !== '') {
      toGhostSeconds = (performance.now() - firstSent) / 1000;
      if (chars.length > 0) {
        next = await keystroke(chars.shift()!);
        log(`lsp level ${level}: next keystroke (typed ${JSON.stringify(next.typed)}): ${next.seconds.toFixed(2)} s, ${JSON.stringify(next.text)}`);
      }
      break;
    }
    if ((performance.now() - firstSent) / 1000 > CAP_S) break;
  }
  return { level, steps, chars: text.length, promptTokens, waitSeconds: WAIT_S, prefillBusySeconds, cpuSecondsDuringWait, requests, toGhostSeconds, toAnswerSeconds, next, ...processMemory(pid) };
}

/** Level 1 (4 iterations) and level 2 (8) through one server process on `modelDir`, each on a
 *  file of its own (the prompt cache and the completion cache keep nothing for a new file). */
export async function measureLsp(modelDir: string, work: string, log: (l: string) => void): Promise<LspFigures> {
  if (process.env.FULLSIZE_LSP === '0') return { skipped: 'FULLSIZE_LSP=0', levels: [] };
  const cache = path.join(work, 'lsp-cache');
  fs.mkdirSync(cache, { recursive: true });
  const tokenizer = new TextTokenizer(path.join(modelDir, 'tokenizer.json'));
  const s = new LspSession({ RECURRENT_COPILOT_CACHE: cache });
  const pid = s.proc.pid!;
  try {
    const t0 = performance.now();
    // Random weights are never sure of a line: the confidence gate would hide every ghost text.
    await s.initialize({ modelPath: modelDir, device: 'cpu', minConfidence: 0 });
    const ready = await s.waitForState(['ready', 'error'], 600_000);
    const loadSeconds = (performance.now() - t0) / 1000;
    if (ready.state !== 'ready') return { skipped: `the server did not load the model: ${ready.message}`, levels: [] };
    log(`lsp: server ready in ${loadSeconds.toFixed(1)} s (${ready.device}, ${ready.dtype})`);
    const progress: ProgressParams[] = [];
    s.conn.onNotification(Methods.progress, (p: ProgressParams) => void progress.push(p));
    const levels = [await oneLevel(s, pid, tokenizer, 1, 4, 0, log, progress), await oneLevel(s, pid, tokenizer, 2, 8, 1, log, progress)];
    const status = (await s.conn.sendRequest(Methods.getStatus)) as ServerStatus;
    const threads = intraOpThreads(fs.statSync(path.join(modelDir, 'weights.bin')).size);
    return { loadSeconds, threads, beamWidth: DEFAULT_SETTINGS.beamWidth, levels, status };
  } catch (e) {
    return { skipped: `failed: ${(e as Error).message.split('\n')[0]}; server log: ${s.logs.join('').slice(-500)}`, levels: [] };
  } finally {
    await s.close();
  }
}
