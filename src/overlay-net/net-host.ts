import { TsswarmError, ErrorCode } from '../api/errors.js';

/** What one command printed and how it ended. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin (nft -f -). */
  input?: string;
}

/**
 * The only door from this library to the kernel: run one program with arguments, no shell.
 * A NetHost targets one network namespace (the node's); `inNetns` derives one for another.
 */
export interface NetHost {
  run(cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

/** Runs a command and turns a non-zero exit into an I/O error that names the command. */
export async function runChecked(
  host: NetHost,
  cmd: string,
  args: readonly string[],
  options?: RunOptions,
): Promise<string> {
  const r = await host.run(cmd, args, options);
  if (r.code !== 0) {
    throw new TsswarmError(
      ErrorCode.Internal,
      `${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

/** Runs a command that prints JSON (ip -j, bridge -j, nft -j); empty output reads as []. */
export async function runJson<T>(host: NetHost, cmd: string, args: readonly string[]): Promise<T> {
  const out = (await runChecked(host, cmd, args)).trim();
  return (out === '' ? [] : JSON.parse(out)) as T;
}
