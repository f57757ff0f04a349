// The loss chart: Chart.js (bundled, tree-shaken to the line chart), coloured from
// VS Code's theme variables. Chart.js draws on a canvas and sets sizes through the
// CSSOM, so it runs under `default-src 'none'` with no 'unsafe-inline' or 'unsafe-eval'.
import { Chart, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js';
import type { Series } from './model';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export class LossChart {
  private readonly chart: Chart<'line', Array<{ x: number; y: number }>>;

  constructor(canvas: HTMLCanvasElement) {
    const fg = themeColor('--vscode-foreground', '#cccccc');
    const grid = themeColor('--vscode-panel-border', 'rgba(128,128,128,0.35)');
    Chart.defaults.font.family = themeColor('--vscode-font-family', 'sans-serif');
    this.chart = new Chart(canvas, {
      type: 'line',
      data: {
        datasets: [
          { label: 'Training loss', data: [], borderColor: themeColor('--vscode-charts-blue', '#3794ff'), backgroundColor: themeColor('--vscode-charts-blue', '#3794ff'), borderWidth: 2, pointRadius: 0, tension: 0.2 },
          { label: 'Validation loss', data: [], borderColor: themeColor('--vscode-charts-orange', '#d18616'), backgroundColor: themeColor('--vscode-charts-orange', '#d18616'), borderWidth: 2, pointRadius: 3 },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'step', color: fg }, ticks: { color: fg, precision: 0 }, grid: { color: grid } },
          y: { type: 'linear', title: { display: true, text: 'loss', color: fg }, ticks: { color: fg }, grid: { color: grid } },
        },
        plugins: { legend: { labels: { color: fg } }, tooltip: { enabled: true } },
      },
    });
  }

  update(s: Series): void {
    this.chart.data.datasets[0].data = s.train;
    this.chart.data.datasets[1].data = s.val;
    this.chart.update('none');
  }

  /** Points drawn per dataset (the webview test reads this). */
  counts(): number[] {
    return this.chart.data.datasets.map((d) => d.data.length);
  }
}
