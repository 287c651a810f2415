// The commands of the "Recurrent Copilot" category (ids in commandIds.ts).

import * as vscode from 'vscode';
import { COMMANDS } from './commandIds';
import type { ComputeMap } from './computeMap';
import { SETTING_KEYS } from './config';
import type { ConfigStore } from './configStore';
import type { DepthSession } from './depthSession';
import type { StatusBar } from './statusBar';

export interface CommandDeps {
  config: ConfigStore;
  session: DepthSession;
  statusBar: StatusBar;
  computeMap: ComputeMap;
  log: vscode.LogOutputChannel;
  openSettings(): void;
  restartServer(): Promise<void>;
}

/** Asks VS Code for a fresh inline suggestion at the cursor (an explicit, "invoke" request). */
async function retrigger(): Promise<void> {
  if (!vscode.window.activeTextEditor) return;
  await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
  await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { config, session, statusBar, computeMap, log } = deps;

  const changeDepth = async (change: () => boolean, label: string) => {
    if (!change()) {
      vscode.window.setStatusBarMessage(`Recurrent Copilot: ${label} limit reached`, 2000);
      return;
    }
    if (!config.current.enabled) {
      vscode.window.setStatusBarMessage('Recurrent Copilot: completions are off', 2000);
      return;
    }
    statusBar.expectThinking();
    await retrigger();
  };

  return [
    vscode.commands.registerCommand(COMMANDS.thinkHarder, () => changeDepth(() => session.raise(), 'think-harder')),
    vscode.commands.registerCommand(COMMANDS.thinkLess, () => changeDepth(() => session.lower(), 'think-less')),
    vscode.commands.registerCommand(COMMANDS.resetDepth, () => {
      session.reset();
    }),
    vscode.commands.registerCommand(COMMANDS.toggleCompletions, async () => {
      const enabled = !config.current.enabled;
      const warning = await config.update(SETTING_KEYS.enabled, enabled);
      if (warning) void vscode.window.showWarningMessage(warning);
      if (!enabled) await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
      vscode.window.setStatusBarMessage(`Recurrent Copilot: completions ${enabled ? 'on' : 'off'}`, 2000);
    }),
    vscode.commands.registerCommand(COMMANDS.showComputeMap, () => computeMap.show(vscode.window.activeTextEditor)),
    vscode.commands.registerCommand(COMMANDS.openSettings, () => deps.openSettings()),
    vscode.commands.registerCommand(COMMANDS.showOutput, () => log.show(true)),
    vscode.commands.registerCommand(COMMANDS.restartServer, () => deps.restartServer()),
  ];
}
