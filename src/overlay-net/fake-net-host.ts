import type { CommandResult, NetHost, RunOptions } from './net-host.js';

export interface RecordedCall {
  cmd: string;
  args: string[];
  input?: string;
}

/** Answers a call; return undefined to fall through to "exit 0, no output". */
export type FakeResponder = (call: RecordedCall) => Partial<CommandResult> | undefined;

/** A NetHost for unit tests: records every call and answers from responders. */
export class FakeNetHost implements NetHost {
  readonly calls: RecordedCall[] = [];
  private readonly responders: FakeResponder[] = [];

  respond(responder: FakeResponder): this {
    this.responders.push(responder);
    return this;
  }

  run(cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    const call: RecordedCall = { cmd, args: [...args] };
    if (options?.input !== undefined) call.input = options.input;
    this.calls.push(call);
    for (const r of this.responders) {
      const out = r(call);
      if (out) return Promise.resolve({ code: 0, stdout: '', stderr: '', ...out });
    }
    return Promise.resolve({ code: 0, stdout: '', stderr: '' });
  }

  /** The calls as command lines, easy to compare in tests. */
  commandLines(): string[] {
    return this.calls.map((c) => [c.cmd, ...c.args].join(' '));
  }

  clear(): void {
    this.calls.length = 0;
  }
}
