/** Prints rows as an aligned text table with a header, for people (scripts use --json). */
export function printTable(header: string[], rows: string[][], out: NodeJS.WritableStream): void {
  const table = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
  for (const row of table) out.write(`${row.map((cell, column) => (cell ?? '').padEnd(widths[column]!)).join('  ').trimEnd()}\n`);
}
