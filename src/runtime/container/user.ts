// Resolves `-u name[:group]` against the image's /etc/passwd and /etc/group, as docker does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../api/errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/** The first readable copy of `file` from the top layer down. */
function readFromLayers(layerDirs: readonly string[], file: string): string {
  for (const dir of [...layerDirs].reverse()) {
    try {
      return readFileSync(join(dir, file), 'utf8');
    } catch {
      continue;
    }
  }
  return '';
}

function entries(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export function resolveUser(spec: string, layerDirs: readonly string[]): ResolvedUser {
  if (spec === '') return { uid: 0, gid: 0, additionalGids: [] };
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = entries(readFromLayers(layerDirs, 'etc/passwd'));
  let uid: number;
  let gid = 0;
  let userName: string | undefined;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const row = passwd.find((p) => p[2] === userPart);
    if (row) {
      gid = Number(row[3] ?? 0);
      userName = row[0];
    }
  } else {
    const row = passwd.find((p) => p[0] === userPart);
    if (!row) {
      throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
    }
    uid = Number(row[2]);
    gid = Number(row[3] ?? 0);
    userName = userPart;
  }
  const groups = entries(readFromLayers(layerDirs, 'etc/group'));
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const row = groups.find((g) => g[0] === groupPart);
      if (!row) {
        throw invalidArgument(
          `unable to find group ${groupPart}: no matching entries in group file`,
        );
      }
      gid = Number(row[2]);
    }
  }
  const additionalGids =
    userName === undefined
      ? []
      : groups
          .filter((g) => (g[3] ?? '').split(',').includes(userName) && Number(g[2]) !== gid)
          .map((g) => Number(g[2]));
  return { uid, gid, additionalGids };
}
