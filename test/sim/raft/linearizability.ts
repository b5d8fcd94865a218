/**
 * A Wing–Gong linearizability checker with Lowe's memoization, for a map of registers.
 * Histories are split per key (P-compositionality): a map is linearizable iff each key is.
 *
 * An operation whose outcome is unknown (timeout, leadership lost) has `ret: Infinity`: it may
 * take effect at any point after its call, or never.
 */
export interface KvOperation {
  client: number;
  key: string;
  kind: 'put' | 'get';
  /** put: the value written. */
  input: string | null;
  /** put: the previous value; get: the value read; undefined when the outcome is unknown. */
  output: string | null | undefined;
  call: number;
  ret: number;
}

export type CheckResult = { ok: true } | { ok: false; key: string; operations: KvOperation[] };

export function checkKvHistory(history: readonly KvOperation[]): CheckResult {
  const byKey = new Map<string, KvOperation[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!checkRegister(ops)) return { ok: false, key, operations: ops };
  }
  return { ok: true };
}

/** One register starting at null. Exponential in the worst case; the memo keeps it small in practice. */
export function checkRegister(input: readonly KvOperation[]): boolean {
  // An unknown get says nothing; drop it.
  const ops = input.filter((o) => !(o.kind === 'get' && o.output === undefined));
  ops.sort((a, b) => a.call - b.call);
  const n = ops.length;
  const required = ops.filter((o) => o.ret !== Infinity).length;
  const seen = new Set<string>();
  const done = new Uint8Array(n);

  const search = (state: string | null, linearized: number, requiredDone: number): boolean => {
    if (requiredDone === required) return true;
    const memo = `${state === null ? '\u0000' : state}|${bits(done)}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    let minRet = Infinity;
    for (let i = 0; i < n; i++) if (done[i] === 0 && ops[i]!.ret < minRet) minRet = ops[i]!.ret;
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      if (done[i] === 1) continue;
      if (op.call > minRet) break;
      let next: string | null;
      if (op.kind === 'put') {
        if (op.output !== undefined && op.output !== state) continue;
        next = op.input;
      } else {
        if (op.output !== state) continue;
        next = state;
      }
      done[i] = 1;
      const ok = search(next, linearized + 1, requiredDone + (op.ret === Infinity ? 0 : 1));
      done[i] = 0;
      if (ok) return true;
    }
    return false;
  };
  return search(null, 0, 0);
}

function bits(a: Uint8Array): string {
  let s = '';
  for (let i = 0; i < a.length; i += 16) {
    let v = 0;
    for (let j = i; j < Math.min(i + 16, a.length); j++) v = (v << 1) | a[j]!;
    s += String.fromCharCode(v + 0x100);
  }
  return s;
}
