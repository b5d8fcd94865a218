/** Looks a variable up; undefined means unset (an empty string is set). */
export type Lookup = (name: string) => string | undefined;

export type InterpolateResult = { ok: true; value: string } | { ok: false; error: string };

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Expands `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?e}`, `${VAR?e}`, `${VAR:+a}`,
 * `${VAR+a}` and `$$`. Inside a default or alternative only nested `${…}` expands, so
 * `${A:-${B:-x}}` nests while a bcrypt hash default (`${P:-$2y$05$abc}`) stays as written,
 * as docker/cli keeps it.
 */
export function interpolateString(input: string, lookup: Lookup): InterpolateResult {
  return expand(input, lookup, false);
}

function expand(input: string, lookup: Lookup, inDefault: boolean): InterpolateResult {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (inDefault && next !== '{') {
      out += '$';
      i++;
      continue;
    }
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = matchingBrace(input, i + 1);
      if (end < 0)
        return {
          ok: false,
          error: `invalid interpolation format for "${input}": unterminated "\${"`,
        };
      const r = expandBraced(input.slice(i + 2, end), lookup, input);
      if (!r.ok) return r;
      out += r.value;
      i = end + 1;
      continue;
    }
    const m = namePattern.exec(input.slice(i + 1));
    if (m) {
      out += lookup(m[0]) ?? '';
      i += 1 + m[0].length;
      continue;
    }
    // A lone `$` (before a digit, a space, the end) is kept, as docker keeps it.
    out += '$';
    i++;
  }
  return { ok: true, value: out };
}

function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let j = open; j < s.length; j++) {
    if (s[j] === '$' && s[j + 1] === '$') {
      j++;
      continue;
    }
    if (s[j] === '{') depth++;
    else if (s[j] === '}') {
      depth--;
      if (depth === 0) return j;
    }
  }
  return -1;
}

function expandBraced(body: string, lookup: Lookup, whole: string): InterpolateResult {
  const m = namePattern.exec(body);
  if (!m)
    return {
      ok: false,
      error: `invalid interpolation format for "${whole}": bad variable name in "\${${body}}"`,
    };
  const name = m[0];
  const rest = body.slice(name.length);
  const value = lookup(name);
  if (rest === '') return { ok: true, value: value ?? '' };
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest);
  if (!op)
    return {
      ok: false,
      error: `invalid interpolation format for "${whole}": unknown operator in "\${${body}}"`,
    };
  const arg = rest.slice(op[0].length);
  const emptyCounts = op[0].startsWith(':');
  const present = value !== undefined && (!emptyCounts || value !== '');
  switch (op[0]) {
    case ':-':
    case '-':
      return present ? { ok: true, value: value } : expand(arg, lookup, true);
    case ':+':
    case '+':
      return present ? expand(arg, lookup, true) : { ok: true, value: '' };
    default: {
      if (present) return { ok: true, value: value };
      const msg = expand(arg, lookup, true);
      const detail =
        msg.ok && msg.value !== ''
          ? msg.value
          : emptyCounts
            ? 'must be set and not empty'
            : 'must be set';
      return { ok: false, error: `required variable ${name} is missing a value: ${detail}` };
    }
  }
}
