import { readFileSync } from 'node:fs';

// mountinfo escapes space, tab, newline and backslash as \ooo.
const unescape = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Mount points at or below `dir`, innermost (latest) first: the order to unmount them in. */
export function mountsUnder(dir: string, mountinfo = '/proc/self/mountinfo'): string[] {
  const base = dir.replace(/\/+$/, '');
  const points: string[] = [];
  for (const line of readFileSync(mountinfo, 'utf8').split('\n')) {
    const point = line.split(' ')[4];
    if (point === undefined) continue;
    const p = unescape(point);
    if (p === base || p.startsWith(`${base}/`)) points.push(p);
  }
  return points.reverse();
}
