// Command ids, shared by the code that registers them and the test that holds package.json's
// `contributes.commands` to them. Pure: no `vscode` import.

export const COMMANDS = {
  thinkHarder: 'recurrentCopilot.thinkHarder',
  thinkLess: 'recurrentCopilot.thinkLess',
  resetDepth: 'recurrentCopilot.resetDepth',
  toggleCompletions: 'recurrentCopilot.toggleCompletions',
  showComputeMap: 'recurrentCopilot.showComputeMap',
  openSettings: 'recurrentCopilot.openSettings',
  showOutput: 'recurrentCopilot.showOutput',
  restartServer: 'recurrentCopilot.restartServer',
} as const;

/** Context key: a completion was shown and the compute map is enabled (command enablement). */
export const COMPUTE_MAP_AVAILABLE = 'recurrentCopilot.computeMapAvailable';
