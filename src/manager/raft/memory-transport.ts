import type { MessageHandler, RaftMessage, Server, Transport } from './types.js';

/** What the network does to one message: deliver it after `delayMs` (0 = next turn), or not. */
export type Delivery = { deliver: false } | { deliver: true; delayMs: number; copies: number };

export interface MemoryNetworkOptions {
  /** Decides each message's fate; the simulator injects loss, delay, duplication here. */
  route?: (from: string, to: string, message: RaftMessage) => Delivery;
  /** Schedules a delivery; the simulator passes its fake clock. */
  schedule?: (fn: () => void, delayMs: number) => void;
}

/**
 * A switchboard for in-memory transports, with fault injection: partitions (cut links) and
 * a per-message routing decision.
 */
export class MemoryNetwork {
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly cut = new Set<string>();
  private readonly route: (from: string, to: string, m: RaftMessage) => Delivery;
  private readonly schedule: (fn: () => void, delayMs: number) => void;
  delivered = 0;
  dropped = 0;

  constructor(options: MemoryNetworkOptions = {}) {
    this.route = options.route ?? (() => ({ deliver: true, delayMs: 0, copies: 1 }));
    this.schedule =
      options.schedule ??
      ((fn, ms) => {
        if (ms <= 0) queueMicrotask(fn);
        else setTimeout(fn, ms);
      });
  }

  transport(address: string): Transport {
    return new MemoryTransport(this, address);
  }

  /** Cuts both directions between a and b. */
  disconnect(a: string, b: string): void {
    this.cut.add(`${a}→${b}`);
    this.cut.add(`${b}→${a}`);
  }

  /** Cuts `a` off from every other address. */
  isolate(a: string, all: readonly string[]): void {
    for (const b of all) if (b !== a) this.disconnect(a, b);
  }

  heal(): void {
    this.cut.clear();
  }

  isCut(from: string, to: string): boolean {
    return this.cut.has(`${from}→${to}`);
  }

  /** @internal */
  register(address: string, handler: MessageHandler | undefined): void {
    if (handler === undefined) this.handlers.delete(address);
    else this.handlers.set(address, handler);
  }

  /** @internal */
  send(from: string, to: string, message: RaftMessage): void {
    if (this.isCut(from, to)) {
      this.dropped++;
      return;
    }
    const d = this.route(from, to, message);
    if (!d.deliver) {
      this.dropped++;
      return;
    }
    for (let i = 0; i < d.copies; i++) {
      this.schedule(() => {
        // A link cut while the message was in flight loses it.
        if (this.isCut(from, to)) return;
        const h = this.handlers.get(to);
        if (h === undefined) return;
        this.delivered++;
        h(message);
      }, d.delayMs);
    }
  }
}

class MemoryTransport implements Transport {
  readonly localAddress: string;
  private closed = false;
  constructor(
    private readonly network: MemoryNetwork,
    address: string,
  ) {
    this.localAddress = address;
  }
  send(to: Server, message: RaftMessage): void {
    if (this.closed) return;
    this.network.send(this.localAddress, to.address, message);
  }
  setHandler(handler: MessageHandler): void {
    if (!this.closed) this.network.register(this.localAddress, handler);
  }
  close(): Promise<void> {
    this.closed = true;
    this.network.register(this.localAddress, undefined);
    return Promise.resolve();
  }
}
