import type { FieldKind, FieldTree } from './field-tree.js';

/**
 * The part of Go's text/template that `docker … --format` is used with, over JSON-shaped
 * values: literal text around actions `{{.Field.Sub}}`, `{{.}}`, `{{json .X}}`,
 * `{{index .Labels "key"}}`, `{{join .List ", "}}`, `{{upper .X}}`, `{{lower .X}}`,
 * `{{len .X}}`, and pipes (`{{.Labels | json}}`). Anything else (range, if, variables) is
 * refused by name rather than printed wrong.
 */
export function renderTemplate(template: string, value: unknown, fields?: FieldTree): string {
  return template.replace(/\{\{-?\s*(.*?)\s*-?\}\}/gs, (_m, action: string) =>
    print(evaluate(action, { value, fields })),
  );
}

/** The value a template runs on, and the fields its Go type has when known. */
interface Dot {
  value: unknown;
  fields: FieldTree | undefined;
}

/**
 * A field the type has but the value lacks: Go holds its zero value there, which prints as
 * `""`, `0`, `false`, `[]`, `map[]` or `<nil>` (an unset struct pointer), and is `null` in json
 * for a list, a map or a struct.
 */
class Zero {
  constructor(readonly kind: FieldKind | 'struct') {}
  get plain(): unknown {
    return { s: '', n: 0, b: false, a: null, m: null, struct: null }[this.kind];
  }
}

/** A --format template that cannot be rendered; the CLI turns it into InvalidArgument. */
export class TemplateError extends Error {}

const FUNCTIONS: Record<string, (args: unknown[], action: string) => unknown> = {
  json: ([v]) => JSON.stringify((v instanceof Zero ? v.plain : v) ?? null),
  index: ([v, ...keys], action) => {
    let cur = v;
    for (const k of keys) {
      if (cur instanceof Zero) return undefined;
      if (cur === null || typeof cur !== 'object') {
        throw new TemplateError(`"{{${action}}}": cannot index ${print(cur)}`);
      }
      cur = own(cur, String(k));
    }
    return cur;
  },
  join: ([list, sep], action) => {
    if (list instanceof Zero && list.kind === 'a') return '';
    if (!Array.isArray(list)) throw new TemplateError(`"{{${action}}}": join needs a list`);
    return list.map(print).join(typeof sep === 'string' ? sep : '');
  },
  upper: ([v]) => print(v).toUpperCase(),
  lower: ([v]) => print(v).toLowerCase(),
  len: ([v], action) => {
    if (v instanceof Zero && v.kind !== 'n' && v.kind !== 'b') return 0;
    if (Array.isArray(v) || typeof v === 'string') return v.length;
    if (v !== null && typeof v === 'object') return Object.keys(v).length;
    throw new TemplateError(`"{{${action}}}": len of ${print(v)}`);
  },
};

function evaluate(action: string, dot: Dot): unknown {
  let piped: { value: unknown } | undefined;
  for (const stage of splitOutsideQuotes(action, '|')) {
    const words = splitOutsideQuotes(stage.trim(), ' ').filter((w) => w !== '');
    const [head, ...rest] = words;
    if (head === undefined) throw new TemplateError(`empty template action "{{${action}}}"`);
    const args = rest.map((w) => operand(w, dot, action));
    if (piped) args.push(piped.value);
    const fn = FUNCTIONS[head];
    if (fn) {
      piped = { value: fn(args, action) };
    } else if (args.length === 0) {
      piped = { value: operand(head, dot, action) };
    } else {
      throw new TemplateError(
        `unsupported template action "{{${action}}}" (use {{.Field}}, json, index, join, upper, lower, len)`,
      );
    }
  }
  return piped?.value;
}

/** A field path from dot, a quoted string, or a number. */
function operand(word: string, dot: Dot, action: string): unknown {
  if (/^"(?:[^"\\]|\\.)*"$/.test(word)) return JSON.parse(word) as string;
  if (/^`[^`]*`$/.test(word)) return word.slice(1, -1);
  if (/^-?\d+$/.test(word)) return Number(word);
  if (!/^\.(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)?$/.test(word)) {
    throw new TemplateError(
      `unsupported template action "{{${action}}}" (use {{.Field}}, json, index, join, upper, lower, len)`,
    );
  }
  let v: unknown = dot.value;
  let fields: FieldTree | FieldKind | undefined = dot.fields;
  for (const key of word.split('.').filter((k) => k !== '')) {
    const known: FieldTree | FieldKind | undefined =
      typeof fields === 'object'
        ? (own(fields, key) as FieldTree | FieldKind | undefined)
        : undefined;
    v = typeof v === 'object' && v !== null && !(v instanceof Zero) ? own(v, key) : undefined;
    if (v === undefined && known !== undefined) {
      v = new Zero(typeof known === 'object' ? 'struct' : known);
    }
    if (v === undefined) throw new TemplateError(`template: no field "${key}" in "${word}"`);
    fields = known;
  }
  return v;
}

/** A value's own field only: `{{.constructor}}` must not reach into JavaScript's objects. */
function own(v: object, key: string): unknown {
  return Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (quote) {
      cur += c;
      if (c === '\\' && quote === '"') cur += s[++i] ?? '';
      else if (c === quote) quote = '';
    } else if (c === '"' || c === '`') {
      quote = c;
      cur += c;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Go prints maps as map[k:v] and slices as [a b]; nothing as <no value>. */
function print(v: unknown): string {
  if (v instanceof Zero) {
    return { s: '', n: '0', b: 'false', a: '[]', m: 'map[]', struct: '<nil>' }[v.kind];
  }
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(print).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v).sort(([a], [b]) => a.localeCompare(b));
    return `map[${entries.map(([k, x]) => `${k}:${print(x)}`).join(' ')}]`;
  }
  return String(v);
}
