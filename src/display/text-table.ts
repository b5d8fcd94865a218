/**
 * Left-aligned columns with at least three spaces between them, as docker's tabwriter prints
 * its lists; each line ends in a newline and carries no trailing blanks.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [header, ...rows];
  const widths: number[] = [];
  for (const row of all) row.forEach((c, k) => (widths[k] = Math.max(widths[k] ?? 0, c.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, k) => (k === cells.length - 1 ? c : c.padEnd((widths[k] ?? 0) + 3)))
      .join('')
      .trimEnd();
  return all.map((cells) => `${line(cells)}\n`).join('');
}
