export interface UntilOptions<T> {
  /** What is awaited, as the failure message names it: "the task running on w1". */
  what: string;
  timeoutMs: number;
  /** Pause between two checks; 20 ms unless given. */
  intervalMs?: number;
  /** When a checked value is the answer; without it, any value but false, null or undefined. */
  accept?: (value: T) => boolean;
}

type Found<T> = Exclude<T, false | null | undefined>;

/**
 * Checks `check` until its value is accepted and resolves to that value; after `timeoutMs` it
 * fails naming `what` and the last value seen. A throw from `check` counts as "not yet" (a
 * cluster electing a leader refuses for a moment) and is the reported answer if it is still
 * the last one at the deadline.
 */
export async function until<T>(
  check: () => T | Promise<T>,
  options: UntilOptions<T> & { accept: (value: T) => boolean },
): Promise<T>;
export async function until<T>(
  check: () => T | Promise<T>,
  options: Omit<UntilOptions<T>, 'accept'>,
): Promise<Found<T>>;
export async function until<T>(
  check: () => T | Promise<T>,
  { what, timeoutMs, intervalMs = 20, accept = found }: UntilOptions<T>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: { value: T } | { error: unknown };
    try {
      const value = await check();
      if (accept(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) {
      const seen = 'value' in last ? `last saw ${show(last.value)}` : `last ${String(last.error)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${seen})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function found<T>(value: T): boolean {
  return value !== false && value !== null && value !== undefined;
}

function show(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    // circular or a bigint: the plain string still says something
  }
  json ??= String(value);
  return json.length > 500 ? `${json.slice(0, 500)}…` : json;
}
