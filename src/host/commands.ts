/**
 * Every command id of the extension, in one place (docs/ARCHITECTURE.md, "Commands"): extension.ts registers them,
 * host modules execute them, and a unit test holds this list equal to package.json's `contributes.commands`.
 */
export const Command = {
  openInspector: 'preflens.openInspector',
  rescan: 'preflens.rescan',
  setFormat: 'preflens.setFormat',
  selectModels: 'preflens.selectModels',
  scoreRecords: 'preflens.scoreRecords',
  openHeatmap: 'preflens.openHeatmap',
  openDashboard: 'preflens.openDashboard',
  exportFiltered: 'preflens.exportFiltered',
  computeRefs: 'preflens.computeRefs',
  openRun: 'preflens.openRun',
  refreshRuns: 'preflens.refreshRuns',
  compareRuns: 'preflens.compareRuns',
  openRollouts: 'preflens.openRollouts',
  openHubDataset: 'preflens.openHubDataset',
} as const;

export type CommandId = (typeof Command)[keyof typeof Command];
