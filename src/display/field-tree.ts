/**
 * The fields an object type has, as Go's structs would: a nested record per struct, and a
 * leaf kind per value (s string, n number, b bool, a list, m map or anything else). A field the
 * tree names but the value lacks is unset, and prints as Go prints that kind's zero value.
 */
export type FieldTree = { readonly [field: string]: FieldTree | FieldKind };
export type FieldKind = 's' | 'n' | 'b' | 'a' | 'm';
