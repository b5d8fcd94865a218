// Shared set-up for the container integration tests: a temp data root with busybox imported,
// a runtime under its own cgroup parent, and a teardown that removes whatever a test left.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContainerRuntime } from '../../../src/runtime/container/index.js';
import { busyboxImage } from '../../helpers/images.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cliPath = join(repoRoot, 'bin', 'tsswarm');

/** Why these tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (mounts, namespaces, cgroups)';
  if (!existsSync('/usr/sbin/runc')) return 'needs runc (apt-get install runc)';
  if (!existsSync(join(repoRoot, 'build', 'tsswarm-shim'))) return 'needs npm run build';
  return undefined;
}

export interface Env {
  work: string;
  dataRoot: string;
  execRoot: string;
  cgroupParent: string;
  rt: ContainerRuntime;
}

export async function setUp(): Promise<Env> {
  const work = mkdtempSync(join(tmpdir(), 'tsswarm-ctr-test-'));
  const dataRoot = join(work, 'data');
  const execRoot = join(work, 'exec');
  const cgroupParent = `tsswarm-test-${process.pid}`;
  await busyboxImage(dataRoot);
  const rt = ContainerRuntime.open({ dataRoot, execRoot, cgroupParent });
  return { work, dataRoot, execRoot, cgroupParent, rt };
}

/** Removes every container of the env (kills running ones), leaving images alone. */
export async function removeAll(env: Env): Promise<void> {
  for (const c of await env.rt.list({ all: true })) {
    await env.rt.remove(c.record.Id, { force: true }).catch(() => undefined);
  }
}

export async function tearDown(env: Env | undefined): Promise<void> {
  if (!env) return;
  await removeAll(env);
  for (const m of mountsUnder(env.work).reverse()) spawnSync('umount', ['-l', m]);
  for (const d of cgroupDirsOf(env.cgroupParent)) {
    try {
      rmdirSync(d);
    } catch {
      // a leftover child cgroup: removeAll failed loudly already
    }
  }
  rmSync(env.work, { recursive: true, force: true });
}

export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`));
}

/** The parent's cgroup dirs across all hierarchies (v1) or the one (v2). */
export function cgroupDirsOf(parent: string): string[] {
  const root = '/sys/fs/cgroup';
  if (existsSync(join(root, 'cgroup.controllers'))) {
    const d = join(root, parent);
    return existsSync(d) ? [d] : [];
  }
  return readdirSync(root)
    .map((c) => join(root, c, parent))
    .filter((d) => existsSync(d));
}

/** Container cgroups below the parent, in any hierarchy. */
export function containerCgroups(parent: string): string[] {
  return cgroupDirsOf(parent).flatMap((d) =>
    readdirSync(d, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(d, e.name)),
  );
}

/** Pids of running tsswarm-shim processes whose arguments mention `dir`. */
export function monitorsUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes('tsswarm-shim') && cmd.includes(dir)) pids.push(Number(p));
    } catch {
      // gone
    }
  }
  return pids;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Both streams, for assertion messages. */
  detail: string;
}

/** `input`, when given, is written to the CLI's stdin, which is then closed. */
export function cli(
  env: Env,
  args: string[],
  timeoutMs = 30_000,
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cliPath,
      ['--data-root', env.dataRoot, '--exec-root', env.execRoot, ...args],
      {
        env: { ...process.env, TSSWARM_CGROUP_PARENT: env.cgroupParent },
        timeout: timeoutMs,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        const why =
          err && code === -1 ? `\n[cli: ${err.message}, signal ${String(err.signal)}]` : '';
        resolve({ code, stdout, stderr: stderr + why, detail: `${stdout}${stderr}${why}` });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
