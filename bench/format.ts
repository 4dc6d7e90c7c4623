/** Number formats shared by the bench tables. */
export const int = (value: number) => String(Math.round(value));
export const ms = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));
