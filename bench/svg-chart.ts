/**
 * A small SVG writer for the benches' charts, so a reader opens bench/results/<name>.svg in a
 * browser without a plotting library: panels stacked top to bottom, each a line chart (one
 * polyline per series, shared axes) or a grouped bar chart.
 */

export interface LineSeries {
  name: string;
  points: ReadonlyArray<readonly [x: number, y: number]>;
}

export type Panel =
  | { kind: 'lines'; title: string; xLabel: string; yLabel: string; series: LineSeries[] }
  | { kind: 'bars'; title: string; yLabel: string; groups: Array<{ name: string; values: Record<string, number> }> };

const WIDTH = 900;
const PANEL_HEIGHT = 260;
const MARGIN = { left: 70, right: 190, top: 34, bottom: 40 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const finite = (value: number) => Number.isFinite(value);

/** A round number just above `max`, so axis labels read 0, 500, 1000… */
function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  for (const multiple of [1, 2, 2.5, 5, 10]) if (multiple * step >= max) return multiple * step;
  return 10 * step;
}

function axes(top: number, title: string, yLabel: string, yMax: number, xTicks: string[]): string[] {
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const out = [
    `<text x="${MARGIN.left}" y="${top + 20}" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<rect x="${MARGIN.left}" y="${top + MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`,
    `<text x="14" y="${top + MARGIN.top + plotHeight / 2}" font-size="12" transform="rotate(-90 14 ${top + MARGIN.top + plotHeight / 2})" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  for (let tick = 0; tick <= 4; tick++) {
    const y = top + MARGIN.top + plotHeight - (tick / 4) * plotHeight;
    out.push(`<line x1="${MARGIN.left - 4}" x2="${MARGIN.left}" y1="${y}" y2="${y}" stroke="#888"/>`,
      `<text x="${MARGIN.left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${+(yMax * tick / 4).toPrecision(3)}</text>`);
  }
  xTicks.forEach((label, index) => {
    const x = MARGIN.left + (xTicks.length === 1 ? plotWidth / 2 : (index / (xTicks.length - 1)) * plotWidth);
    out.push(`<text x="${x}" y="${top + PANEL_HEIGHT - MARGIN.bottom + 15}" font-size="11" text-anchor="middle">${escape(label)}</text>`);
  });
  return out;
}

function legend(top: number, names: string[]): string[] {
  return names.flatMap((name, index) => {
    const y = top + MARGIN.top + 6 + index * 18;
    const x = WIDTH - MARGIN.right + 12;
    return [`<rect x="${x}" y="${y}" width="12" height="12" fill="${COLORS[index % COLORS.length]}"/>`,
      `<text x="${x + 18}" y="${y + 11}" font-size="12">${escape(name)}</text>`];
  });
}

function linePanel(top: number, panel: Extract<Panel, { kind: 'lines' }>): string[] {
  const points = panel.series.flatMap((series) => series.points.filter(([x, y]) => finite(x) && finite(y)));
  const xMax = niceMax(Math.max(1, ...points.map(([x]) => x)));
  const yMax = niceMax(Math.max(0, ...points.map(([, y]) => y)));
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const out = axes(top, panel.title, panel.yLabel, yMax, [0, 1, 2, 3, 4].map((tick) => `${+(xMax * tick / 4).toPrecision(3)}`));
  out.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${top + PANEL_HEIGHT - 8}" font-size="12" text-anchor="middle">${escape(panel.xLabel)}</text>`);
  panel.series.forEach((series, index) => {
    const path = series.points.filter(([x, y]) => finite(x) && finite(y))
      .map(([x, y]) => `${(MARGIN.left + (x / xMax) * plotWidth).toFixed(1)},${(top + MARGIN.top + plotHeight - (y / yMax) * plotHeight).toFixed(1)}`);
    if (path.length) out.push(`<polyline fill="none" stroke-width="1.5" stroke="${COLORS[index % COLORS.length]}" points="${path.join(' ')}"/>`);
  });
  return [...out, ...legend(top, panel.series.map((series) => series.name))];
}

function barPanel(top: number, panel: Extract<Panel, { kind: 'bars' }>): string[] {
  const keys = [...new Set(panel.groups.flatMap((group) => Object.keys(group.values)))];
  const yMax = niceMax(Math.max(0, ...panel.groups.flatMap((group) => Object.values(group.values).filter(finite))));
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const out = axes(top, panel.title, panel.yLabel, yMax, []);
  const groupWidth = plotWidth / Math.max(1, panel.groups.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, keys.length);
  panel.groups.forEach((group, groupIndex) => {
    const left = MARGIN.left + groupIndex * groupWidth + groupWidth * 0.1;
    out.push(`<text x="${left + groupWidth * 0.4}" y="${top + PANEL_HEIGHT - MARGIN.bottom + 15}" font-size="11" text-anchor="middle">${escape(group.name)}</text>`);
    keys.forEach((key, keyIndex) => {
      const value = group.values[key];
      if (value === undefined || !finite(value)) return;
      const height = (value / yMax) * plotHeight;
      out.push(`<rect x="${(left + keyIndex * barWidth).toFixed(1)}" y="${(top + MARGIN.top + plotHeight - height).toFixed(1)}" width="${(barWidth * 0.9).toFixed(1)}" height="${height.toFixed(1)}" fill="${COLORS[keyIndex % COLORS.length]}"><title>${escape(`${group.name} ${key}: ${value.toFixed(0)}`)}</title></rect>`);
    });
  });
  return [...out, ...legend(top, keys)];
}

/** The panels as one SVG document. */
export function svgChart(panels: Panel[]): string {
  const body = panels.flatMap((panel, index) => (panel.kind === 'lines' ? linePanel(index * PANEL_HEIGHT, panel) : barPanel(index * PANEL_HEIGHT, panel)));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${panels.length * PANEL_HEIGHT}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${body.join('\n')}\n</svg>\n`;
}
