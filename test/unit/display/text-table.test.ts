import { describe, expect, it } from 'vitest';
import { formatTable } from '../../../src/display/text-table.js';

describe('formatTable', () => {
  it('pads every column but the last to its widest cell plus three spaces', () => {
    expect(
      formatTable(
        ['ID', 'NAME', 'STATE'],
        [
          ['a1', 'web', 'running'],
          ['b22222', 'db', ''],
        ],
      ),
    ).toBe('ID       NAME   STATE\na1       web    running\nb22222   db\n');
  });

  it('prints only the header when there are no rows', () => {
    expect(formatTable(['ID', 'NAME'], [])).toBe('ID   NAME\n');
  });
});
