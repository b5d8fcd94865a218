import type { NetHost } from './net-host.js';
import { runChecked, runJson } from './net-host.js';

/**
 * One nft transaction that replaces a whole table: readers see the old table or the new one,
 * never a mix, and a failing script changes nothing.
 */
export function replaceTableScript(name: string, body: string): string {
  return `add table ip ${name}\ndelete table ip ${name}\ntable ip ${name} {\n${body}}\n`;
}

export async function applyNft(host: NetHost, script: string): Promise<void> {
  await runChecked(host, 'nft', ['-f', '-'], { input: script });
}

export async function deleteTableIfPresent(host: NetHost, name: string): Promise<void> {
  // "add" first makes the delete succeed whether or not the table was there.
  await applyNft(host, `add table ip ${name}\ndelete table ip ${name}\n`);
}

export async function listTables(host: NetHost): Promise<{ family: string; name: string }[]> {
  const out = await runJson<{ nftables?: { table?: { family: string; name: string } }[] }>(
    host,
    'nft',
    ['-j', 'list', 'tables'],
  );
  const rows = Array.isArray(out) ? [] : (out.nftables ?? []);
  return rows.flatMap((r) => (r.table ? [r.table] : []));
}

/** A chain body line-by-line, indented, for readable `nft list` output and tests. */
export function chain(name: string, head: string | null, rules: readonly string[]): string {
  const lines = [`  chain ${name} {`];
  if (head) lines.push(`    ${head}`);
  for (const r of rules) lines.push(`    ${r}`);
  lines.push('  }');
  return lines.join('\n') + '\n';
}

/** `numgen inc mod N map { 0 : a, 1 : b }`: new connections spread round-robin over targets. */
export function roundRobinMap(targets: readonly string[]): string {
  const items = targets.map((t, i) => `${i} : ${t}`).join(', ');
  return `numgen inc mod ${targets.length} map { ${items} }`;
}
