/** Number formats shared by the bench tables. */
export const int = (value: number) => String(Math.round(value));
export const ms = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
