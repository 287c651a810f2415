// What the status bar item says: its text, its Markdown tooltip and its severity, from everything
// the extension knows, and what the build notification says. Pure (no `vscode` import);
// statusBar.ts and buildProgress.ts only copy the results onto VS Code's objects.

import type { BuildProgressParams, ProgressParams, ServerStatus } from '../server/protocol';
import { clampLevel, signed } from './depthPolicy';
import type { Decision, ShownConfidence } from './depthSession';
import type { ClientState } from './serverStatusStore';

export interface StatusModel {
  enabled: boolean;
  clientState: ClientState;
  server?: ServerStatus;
  /** Completions waiting on the server, or Think Harder pressed and its request not back yet. */
  thinking: boolean;
  progress?: ProgressParams;
  baseLevel: number;
  offset: number;
  lastDecision?: Decision;
  /** How sure the server was of the ghost text shown for the last decision. */
  lastShown?: ShownConfidence;
}

export type Severity = 'normal' | 'warning' | 'error';

export interface StatusPresentation {
  text: string;
  /** Markdown (untrusted: no command links). */
  tooltip: string;
  severity: Severity;
}

/** Escapes Markdown's special characters so reasons like "line ends with '*'" print literally. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~$]/g, '\\$&');
}

function levelLabel(model: StatusModel): string {
  const level = model.lastDecision?.level ?? clampLevel(model.baseLevel + model.offset);
  return `L${level}${model.offset !== 0 ? ` (${signed(model.offset)})` : ''}`;
}

function textOf(model: StatusModel): { text: string; severity: Severity } {
  if (!model.enabled) return { text: '$(circle-slash) RC off', severity: 'normal' };
  if (model.clientState === 'stopped') return { text: '$(error) RC stopped', severity: 'error' };
  if (model.server?.state === 'error') return { text: '$(error) RC error', severity: 'error' };
  if (model.clientState === 'starting' || model.server === undefined || model.server.state === 'loading') {
    return { text: '$(sync~spin) RC loading', severity: 'normal' };
  }
  if (model.server.state === 'building') {
    const percent = model.server.build ? ` ${model.server.build.percent}%` : '';
    return { text: `$(sync~spin) RC building${percent}`, severity: 'normal' };
  }
  const warning = model.server.severity === 'error' ? 'error' : model.server.message ? 'warning' : 'normal';
  if (model.thinking) {
    const p = model.progress;
    const sofar = p ? ` ${p.tokens} tok, ${(p.elapsedMs / 1000).toFixed(1)} s` : '';
    return { text: `$(loading~spin) RC ${levelLabel(model)} · thinking…${sofar}`, severity: warning };
  }
  const low = model.lastShown?.lowConfidence ? ' · low confidence' : '';
  return { text: `$(pulse) RC ${levelLabel(model)} · ${model.server.device ?? '?'}${low}`, severity: warning };
}

/** `webgpu: NVIDIA GeForce RTX 4070`, or the device alone. */
export function deviceLabel(server: Pick<ServerStatus, 'device' | 'adapter'>): string {
  return server.adapter ? `${server.device}: ${server.adapter}` : (server.device ?? '?');
}

function tooltipOf(model: StatusModel): string {
  const lines: string[] = ['**Recurrent Copilot**', ''];
  const server = model.server;
  if (!model.enabled) lines.push('Inline completions are off (Recurrent Copilot: Toggle Completions).', '');
  if (model.clientState === 'stopped') lines.push('The language server is not running; see the output.', '');
  if (server) {
    const where = [server.device && `on ${deviceLabel(server)}`, server.model && `model ${server.model}`, server.dtype]
      .filter(Boolean)
      .join(', ');
    lines.push(escapeMarkdown(`Server: ${server.state}${where ? ` (${where})` : ''}`), '');
    // Why the CPU although a GPU was allowed; a warning of its own when it is also the message.
    if (server.deviceReason && !server.message?.includes(server.deviceReason)) lines.push(`$(info) ${escapeMarkdown(server.deviceReason)}`, '');
    if (server.message) {
      // A ready server's message is a fallback or a notice; while loading or building, what it does.
      const icon = server.state === 'error' || server.severity === 'error' ? 'error' : server.state === 'ready' ? 'warning' : 'info';
      lines.push(`$(${icon}) ${escapeMarkdown(server.message)}`, '');
    }
    const figures = [
      server.lastLatencyMs !== undefined && `last ${Math.round(server.lastLatencyMs)} ms`,
      server.tokensPerSecond !== undefined && `${server.tokensPerSecond.toFixed(1)} tokens/s`,
      server.meanIterations !== undefined && `${server.meanIterations.toFixed(1)} iterations/token`,
    ].filter(Boolean);
    if (figures.length) lines.push(escapeMarkdown(figures.join(' · ')), '');
    const c = server.counters;
    if (c) {
      lines.push(escapeMarkdown(`${c.requests} requests: ${c.computed} computed, ${c.cacheHits} from cache, ${c.cancelled} cancelled, ${c.errors} errors`), '');
    }
  }
  if (model.offset !== 0) {
    lines.push(escapeMarkdown(`Think ${model.offset > 0 ? 'harder' : 'less'}: ${signed(model.offset)} level(s) (Reset Depth to clear)`), '');
  }
  const decision = model.lastDecision;
  if (decision) {
    lines.push(escapeMarkdown(`Last decision (${decision.languageId}): level ${decision.level}, ${decision.steps} iterations per token`));
    for (const reason of decision.reasons) lines.push(`- ${escapeMarkdown(reason)}`);
    lines.push('');
  }
  const shown = model.lastShown;
  if (shown) {
    const low = shown.lowConfidence ? ': low confidence, below recurrentCopilot.minConfidence, shown because you asked' : '';
    lines.push(escapeMarkdown(`Last suggestion: confidence ${confidenceText(shown.confidence)}${low}`), '');
  }
  lines.push('Click to open the settings.');
  return lines.join('\n');
}

/** A confidence in [0, 1] as the user reads it: "72%". */
export function confidenceText(confidence: number): string {
  return `${Math.round(100 * confidence)}%`;
}

export function presentStatus(model: StatusModel): StatusPresentation {
  const { text, severity } = textOf(model);
  return { text, tooltip: tooltipOf(model), severity };
}

/** The last part of a folder path, for either separator. */
function folderName(folder: string): string {
  return folder.replace(/[\\/]+$/, '').split(/[\\/]/).pop() || folder;
}

/** The build notification's title: "Recurrent Copilot: building <model folder name> (<dtype>)". */
export function buildTitle(p: BuildProgressParams): string {
  return `Recurrent Copilot: building ${folderName(p.model)} (${p.dtype})`;
}

/** The build notification's message: the percent and the tensor just written. */
export function buildMessage(p: BuildProgressParams): string {
  return p.tensor ? `${p.percent}% · ${p.tensor}` : `${p.percent}%`;
}
