/**
 * The chart controls of the dashboard, comparison and report: x axis (iteration, epoch, wall time,
 * time since start), EMA smoothing slider, log scale. Calls `onChange` with the new settings.
 */
import type { ChartSettings, XAxis } from '../../../src/extension/protocol';
import { h } from '../lib/dom';
import { X_LABELS } from '../charts/xAxis';

const AXES: XAxis[] = ['iter', 'epoch', 'wall', 'relative'];

export function chartToolbar(initial: ChartSettings, onChange: (s: ChartSettings) => void): HTMLElement {
  let settings = { ...initial };
  const emit = (patch: Partial<ChartSettings>) => {
    settings = { ...settings, ...patch };
    onChange(settings);
  };

  const select = h('vscode-single-select', { id: 'x-axis', 'aria-label': 'x axis' });
  for (const a of AXES) select.append(h('vscode-option', { value: a, selected: a === settings.x }, X_LABELS[a]));
  select.addEventListener('change', () => emit({ x: (select as unknown as { value: string }).value as XAxis }));

  const valueText = h('span', { class: 'muted', id: 'smoothing-value' }, settings.smoothing.toFixed(2));
  const slider = h('input', { type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01, value: settings.smoothing, 'aria-label': 'smoothing' });
  // Recompute as the slider moves (smoothing is O(rows)); the frame scheduler coalesces redraws.
  slider.addEventListener('input', () => {
    valueText.textContent = Number(slider.value).toFixed(2);
    emit({ smoothing: Number(slider.value) });
  });

  const log = h('vscode-checkbox', { id: 'log-scale', checked: settings.logScale, label: 'log scale' });
  log.addEventListener('change', () => emit({ logScale: (log as unknown as { checked: boolean }).checked }));

  return h(
    'div',
    { class: 'toolbar chart-toolbar' },
    h('label', null, 'x axis', select),
    h('label', null, 'smoothing', slider, valueText),
    log,
    h('span', { class: 'muted' }, 'drag to zoom · double-click to reset'),
  );
}
