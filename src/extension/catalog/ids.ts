/** Ids of the catalogue's view and commands, as contributed in package.json. */
export const COMPONENTS_VIEW = 'cvWorkbench.components';

export const CATALOG_COMMANDS = {
  showComponentDoc: 'cvWorkbench.showComponentDoc',
  insertComponent: 'cvWorkbench.insertComponent',
  newExperiment: 'cvWorkbench.newExperiment',
  refreshComponents: 'cvWorkbench.refreshComponents',
  createSampleWorkspace: 'cvWorkbench.createSampleWorkspace',
} as const;
