import type { PluginEvent } from './event';

/** Fields the pipeline itself sets: not the app's doing, so not shown in a diff. */
const PIPELINE_FIELDS = new Set(['$plugins_succeeded', '$plugins_failed', '$plugins_deferred']);

const show = (value: unknown) => {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
};

function diffRecords(before: Record<string, unknown>, after: Record<string, unknown>, prefix: string, lines: string[]): void {
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (PIPELINE_FIELDS.has(key)) continue;
    const path = `${prefix}${key}`;
    if (!(key in after)) lines.push(`- ${path}`);
    else if (!(key in before)) lines.push(`+ ${path}: ${show(after[key])}`);
    else if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) lines.push(`~ ${path}: ${show(before[key])} → ${show(after[key])}`);
  }
}

/** What an app changed in an event, one line per field: `+` added, `-` removed, `~` changed. */
export function eventDiff(before: PluginEvent, after: PluginEvent): string[] {
  const lines: string[] = [];
  const { properties: beforeProperties, ...beforeTop } = before;
  const { properties: afterProperties, ...afterTop } = after;
  diffRecords(beforeTop, afterTop, '', lines);
  diffRecords(beforeProperties ?? {}, afterProperties ?? {}, 'properties.', lines);
  return lines;
}
