import type { LabNodeStatus } from './lab.js';

/** `lab ls` as a table, columns padded like docker's. */
export function formatLabList(rows: readonly LabNodeStatus[]): string {
  const header = ['LAB', 'NODE', 'ROLE', 'ADDRESS', 'PID', 'STATE', 'SOCKET'];
  const lines = rows.map((r) => [
    r.lab,
    r.name,
    r.role,
    r.address,
    r.pid === null ? '-' : String(r.pid),
    r.partitioned ? `${r.state}, partitioned` : r.state,
    r.socket,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  return [header, ...lines]
    .map((cols) =>
      cols
        .map((c, i) => (i === cols.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
        .join('')
        .trimEnd(),
    )
    .map((l) => `${l}\n`)
    .join('');
}
