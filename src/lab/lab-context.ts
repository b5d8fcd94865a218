import { TsswarmError, ErrorCode } from '../api/errors.js';
import type { CgroupRoot } from './cgroups.js';
import type { LabHost } from './lab-host.js';

export interface LabContext {
  /** The host's data-root: its image store is the source, labs live in <dataRoot>/labs. */
  dataRoot: string;
  host: LabHost;
  cgroups: CgroupRoot;
  /** Where lab names are claimed host-wide; defaultClaimDir unless a test isolates itself. */
  claimDir?: string;
  /** Aborting it (Ctrl-C) stops a create at its next step, which then rolls back. */
  signal?: AbortSignal;
  /** Progress lines for a person watching (`lab create` prints them on stderr). */
  progress?: (line: string) => void;
}

export const interrupted = (what: string): TsswarmError =>
  new TsswarmError(ErrorCode.Unavailable, `${what}: interrupted; removing what was made`);

export function checkpoint(ctx: LabContext, what: string): void {
  if (ctx.signal?.aborted === true) throw interrupted(`lab ${what}`);
}
