/**
 * Placement constraints as docker users write them (`node.labels.zone==east`). Parsed here,
 * in src/api, so that spec validation and the scheduler agree on the grammar.
 */
export type ConstraintOperator = '==' | '!=';

export interface Constraint {
  /** As written, for messages. */
  expression: string;
  /** Key as written (label keys keep their case; the fixed prefix does not matter). */
  key: string;
  operator: ConstraintOperator;
  value: string;
}

export type ConstraintParse = { ok: true; constraint: Constraint } | { ok: false; error: string };

const KEY_PATTERN = /^[a-z_][a-z0-9\-_.]+$/i;
// Swarmkit's value grammar: letters, digits and the glob-ish punctuation users put in labels.
const VALUE_PATTERN = /^[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$/i;

const FIXED_KEYS = [
  'node.id',
  'node.hostname',
  'node.role',
  'node.platform.os',
  'node.platform.arch',
] as const;
const LABEL_PREFIXES = ['node.labels.', 'engine.labels.'] as const;

export function parseConstraint(expression: string): ConstraintParse {
  // `!=` is looked for first: a `==` search would also find the `=` of `!=` otherwise.
  let operator: ConstraintOperator | undefined;
  let at = expression.indexOf('!=');
  if (at >= 0) operator = '!=';
  else {
    at = expression.indexOf('==');
    if (at >= 0) operator = '==';
  }
  const fail = (why: string): ConstraintParse => ({
    ok: false,
    error: `invalid constraint expression: ${JSON.stringify(expression)}: ${why}`,
  });
  if (operator === undefined) return fail('expected key==value or key!=value');
  const key = expression.slice(0, at).trim();
  const value = expression.slice(at + 2).trim();
  if (key === '') return fail('missing key');
  if (value === '') return fail('missing value');
  if (!KEY_PATTERN.test(key)) return fail(`invalid key ${JSON.stringify(key)}`);
  if (!VALUE_PATTERN.test(value)) return fail(`invalid value ${JSON.stringify(value)}`);
  const lower = key.toLowerCase();
  const known =
    (FIXED_KEYS as readonly string[]).includes(lower) ||
    LABEL_PREFIXES.some((p) => lower.startsWith(p) && lower.length > p.length);
  if (!known) {
    return fail(
      `unknown key ${JSON.stringify(key)} (expected node.id, node.hostname, node.role, ` +
        'node.platform.os, node.platform.arch, node.labels.<name> or engine.labels.<name>)',
    );
  }
  return { ok: true, constraint: { expression, key, operator, value } };
}

/** What a constraint is checked against: the node fields it can name. */
export interface ConstraintSubject {
  id: string;
  hostname: string;
  role: string;
  os: string;
  arch: string;
  nodeLabels: Readonly<Record<string, string>>;
  engineLabels: Readonly<Record<string, string>>;
}

const ARCH_ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
};

function normalizeArch(a: string): string {
  return ARCH_ALIASES[a.toLowerCase()] ?? a.toLowerCase();
}

/**
 * Values compare without regard to case, as swarmkit does; a missing label is unequal to
 * everything, so `node.labels.x!=y` holds on nodes without the label.
 */
export function matchConstraint(c: Constraint, s: ConstraintSubject): boolean {
  const lower = c.key.toLowerCase();
  let actual: string | undefined;
  let expected = c.value;
  if (lower === 'node.id') actual = s.id;
  else if (lower === 'node.hostname') actual = s.hostname;
  else if (lower === 'node.role') actual = s.role;
  else if (lower === 'node.platform.os') actual = s.os;
  else if (lower === 'node.platform.arch') {
    actual = normalizeArch(s.arch);
    expected = normalizeArch(c.value);
  } else if (lower.startsWith('node.labels.')) {
    actual = s.nodeLabels[c.key.slice('node.labels.'.length)];
  } else if (lower.startsWith('engine.labels.')) {
    actual = s.engineLabels[c.key.slice('engine.labels.'.length)];
  }
  const equal = actual !== undefined && actual.toLowerCase() === expected.toLowerCase();
  return c.operator === '==' ? equal : !equal;
}

/** Parses every expression; the first error wins (a spec with a bad one is refused anyway). */
export function parseConstraints(
  expressions: readonly string[],
): { ok: true; constraints: Constraint[] } | { ok: false; error: string } {
  const constraints: Constraint[] = [];
  for (const e of expressions) {
    const p = parseConstraint(e);
    if (!p.ok) return p;
    constraints.push(p.constraint);
  }
  return { ok: true, constraints };
}

/** The label value a spread preference groups nodes by (undefined when the node lacks it). */
export function spreadValue(descriptor: string, s: ConstraintSubject): string | undefined {
  const lower = descriptor.toLowerCase();
  if (lower.startsWith('node.labels.')) return s.nodeLabels[descriptor.slice(12)];
  if (lower.startsWith('engine.labels.')) return s.engineLabels[descriptor.slice(14)];
  if (lower === 'node.id') return s.id;
  if (lower === 'node.hostname') return s.hostname;
  if (lower === 'node.role') return s.role;
  if (lower === 'node.platform.os') return s.os;
  if (lower === 'node.platform.arch') return normalizeArch(s.arch);
  return undefined;
}

export function isValidSpreadDescriptor(descriptor: string): boolean {
  const lower = descriptor.toLowerCase();
  return (
    (FIXED_KEYS as readonly string[]).includes(lower) ||
    LABEL_PREFIXES.some((p) => lower.startsWith(p) && lower.length > p.length)
  );
}
