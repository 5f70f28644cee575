/** Command ids, as contributed in package.json (`contributes.commands`). */
export const COMMANDS = {
  validateConfig: 'cvWorkbench.validateConfig',
  validateAllConfigs: 'cvWorkbench.validateAllConfigs',
  showOutput: 'cvWorkbench.showOutput',
} as const;

export const OUTPUT_CHANNEL_NAME = 'CV Workbench';
