import { describe, expect, it } from 'vitest';
import {
  matchConstraint,
  parseConstraint,
  type ConstraintSubject,
} from '../../../src/api/index.js';

const node: ConstraintSubject = {
  id: 'abc',
  hostname: 'node-1',
  role: 'manager',
  os: 'linux',
  arch: 'x86_64',
  nodeLabels: { zone: 'East' },
  engineLabels: { disk: 'ssd' },
};

function parsed(expr: string) {
  const p = parseConstraint(expr);
  if (!p.ok) throw new Error(p.error);
  return p.constraint;
}

describe('constraints', () => {
  it('match node fields and labels, case-insensitively on values', () => {
    expect(matchConstraint(parsed('node.hostname==node-1'), node)).toBe(true);
    expect(matchConstraint(parsed('node.role != manager'), node)).toBe(false);
    expect(matchConstraint(parsed('node.labels.zone==east'), node)).toBe(true);
    expect(matchConstraint(parsed('engine.labels.disk==ssd'), node)).toBe(true);
    expect(matchConstraint(parsed('node.platform.arch==amd64'), node)).toBe(true);
    expect(matchConstraint(parsed('node.labels.missing!=x'), node)).toBe(true);
    expect(matchConstraint(parsed('node.labels.missing==x'), node)).toBe(false);
  });

  it('refuse bad expressions with a message that names them', () => {
    for (const bad of ['node.role', 'node.role==', '==x', 'node.colour==red', 'node.labels.==x']) {
      const p = parseConstraint(bad);
      expect(p.ok).toBe(false);
      if (!p.ok) expect(p.error).toContain(`invalid constraint expression: ${JSON.stringify(bad)}`);
    }
  });
});
