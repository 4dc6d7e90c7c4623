/**
 * plugin.json's config rules that both the admin API (on save) and the web console (while a form
 * is filled) apply, so the two never disagree: which fields are required and which are shown, by
 * PostHog's `required_if`/`visible_if`. No imports but types: the console bundles this file.
 */
import type { ConfigCondition, PluginConfigField } from './app';

/** The mask the admin API shows instead of a secret value; sent back unchanged, it keeps the value. */
export const SECRET_MASK = '••••••••';

type Values = Record<string, string | undefined>;

/** PostHog's rule: `[key]` holds when that field has any value, `[key, value]` when it equals value. */
function conditionHolds(values: Values, [key, expected]: ConfigCondition[number]): boolean {
  const actual = values[key] ?? '';
  return expected === undefined || expected === null ? actual !== '' : actual === expected;
}

function allHold(values: Values, conditions: ConfigCondition | undefined): boolean {
  return (conditions ?? []).every((condition) => conditionHolds(values, condition));
}

/** Whether the form shows the field with these values (a field without visible_if always shows). */
export function isFieldVisible(field: PluginConfigField, values: Values): boolean {
  return !Array.isArray(field.visible_if) || allHold(values, field.visible_if);
}

/** Whether the field needs a value with these values: `required`, or `required_if` holding. */
export function isFieldRequired(field: PluginConfigField, values: Values): boolean {
  if (field.required) return true;
  return Array.isArray(field.required_if) && field.required_if.length > 0 && allHold(values, field.required_if);
}

/** A json field's value must parse; the message says why it does not (undefined when it does). */
export function jsonValueProblem(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  try {
    JSON.parse(value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
