// Presentation shared by the CLI and the runtime's listings: docker's Go templates, its
// aligned text tables, `--format` handling and go-units' human renderings.
export { renderTemplate, TemplateError } from './go-template.js';
export { formatTable } from './text-table.js';
export { formatRows, formatObjects, type Column } from './list-format.js';
export { humanDuration, humanSize, humanSizeWithPrecision } from './human-units.js';
export { dockerFields } from './docker-fields.generated.js';
export type { FieldTree, FieldKind } from './field-tree.js';
