/**
 * Fields every stored object carries, named as Docker's Engine API names them so that
 * `inspect` output reads the same as `docker service inspect`.
 */

/** Raft index of the object's last change; an update must carry the index it read. */
export interface Version {
  Index: number;
}

/** Nanoseconds, as Docker's API counts durations (JSON numbers; safe up to ~104 days). */
export type DurationNs = number;

/** RFC 3339 timestamp string (UTC), e.g. `2026-11-22T06:30:00.000Z`. */
export type Timestamp = string;

export interface Meta {
  ID: string;
  Version: Version;
  CreatedAt: Timestamp;
  UpdatedAt: Timestamp;
}

export type Labels = Record<string, string>;

/** A driver name with options, as used by log drivers, network drivers and IPAM. */
export interface Driver {
  Name: string;
  Options?: Record<string, string>;
}

export interface Platform {
  Architecture: string;
  OS: string;
}

export const NS_PER_MS = 1_000_000;
export const NS_PER_SECOND = 1_000_000_000;

/** Converts a duration in nanoseconds (API) to milliseconds (timers). */
export function nsToMs(ns: DurationNs): number {
  return Math.floor(ns / NS_PER_MS);
}

export function msToNs(ms: number): DurationNs {
  return Math.round(ms * NS_PER_MS);
}
