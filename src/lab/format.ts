import { formatTable } from '../display/text-table.js';
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
  return formatTable(header, lines);
}
