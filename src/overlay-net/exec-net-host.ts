import { spawn } from 'node:child_process';
import type { CommandResult, NetHost, RunOptions } from './net-host.js';

/** Runs commands in the namespace of this process. */
export class ExecNetHost implements NetHost {
  run(cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const input = options?.input;
      const child = spawn(cmd, args, {
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      if (input !== undefined && child.stdin) {
        // A command that fails before reading its input closes the pipe; its exit code says why.
        child.stdin.on('error', () => undefined);
        child.stdin.end(input);
      }
    });
  }
}

/** Where a network namespace is: a name under /run/netns, a path, or a process id. */
export type NetnsRef = { name: string } | { path: string } | { pid: number };

/** The argv prefix that runs a program inside the given network namespace. */
export function netnsExecPrefix(ns: NetnsRef): string[] {
  if ('name' in ns) return ['ip', 'netns', 'exec', ns.name];
  const path = 'path' in ns ? ns.path : `/proc/${ns.pid}/ns/net`;
  // nsenter enters only the network namespace, so the caller's mounts and /etc stay in view.
  return ['nsenter', `--net=${path}`, '--'];
}

/** A NetHost whose commands run inside another network namespace. */
export function inNetns(base: NetHost, ns: NetnsRef): NetHost {
  const [cmd, ...prefix] = netnsExecPrefix(ns) as [string, ...string[]];
  return {
    run: (c, args, options) => base.run(cmd, [...prefix, c, ...args], options),
  };
}
