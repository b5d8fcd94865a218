/** One problem found while loading compose files; expected outcomes are values, not exceptions. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** File the problem comes from, as the user named it; empty when it has no single source. */
  file: string;
  /** 1-based; 0 when unknown. */
  line: number;
  column: number;
  /** Dotted key path (`services.web.deploy.replicas`); empty for the whole file. */
  path: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file === '' ? '' : d.line > 0 ? `${d.file}:${d.line}:${d.column} ` : `${d.file} `;
  const path = d.path === '' ? '' : `${d.path}: `;
  return `${where}${path}${d.message}`;
}

/** Key path as a dotted string; list indices appear as numbers (`ports.0`). */
export function joinPath(path: readonly (string | number)[]): string {
  return path.map(String).join('.');
}
