import {
  canonicalJson,
  ErrorCode,
  TsswarmError,
  generateId,
  type Meta,
  type RandomBytes,
  type Task,
  type WireError,
} from '../../api/index.js';
import { matches, type By, type CommonBy, type NodeBy, type TaskBy } from './by.js';
import { decodeCommand, encodeCommand, type StoreAction, type StoreCommand } from './command.js';
import type { StoreEvent, WatchFilter } from './events.js';
import type { FSM, LogEntry, Proposer } from './fsm.js';
import {
  TABLE_NAMES,
  uniqueName,
  type NewObject,
  type StoreObject,
  type StoreObjects,
  type TableName,
} from './tables.js';
import { Watcher } from './watcher.js';

/** What `apply` returns for each entry: the same on every replica. */
export type ApplyResult = { ok: true; index: number } | { ok: false; error: WireError };

/** Outcome of `update`: conflicts are values; I/O failures (not leader, lost quorum) throw. */
export type UpdateResult<R> =
  { ok: true; value: R; index: number } | { ok: false; error: TsswarmError };

export interface TableReader<T, B extends By = CommonBy> {
  get(id: string): T | undefined;
  /** Sorted by ID, so callers see the same order on every replica and after restore. */
  find(by?: B): T[];
}

export interface TableWriter<T extends Meta, B extends By = CommonBy> extends TableReader<T, B> {
  /** Refused with TSS_CONFLICT when the ID or the (unique) name is taken. */
  create(object: NewObject<T>): T;
  /** Refused with TSS_OUT_OF_SEQUENCE unless `object.Version` is the version stored. */
  update(object: T): T;
  /** Refused with TSS_NOT_FOUND when absent. */
  delete(id: string): void;
}

type Selector<K extends TableName> = K extends 'tasks'
  ? TaskBy
  : K extends 'nodes'
    ? NodeBy
    : CommonBy;

export type ReadTx = { readonly [K in TableName]: TableReader<StoreObjects[K], Selector<K>> };
export type WriteTx = { readonly [K in TableName]: TableWriter<StoreObjects[K], Selector<K>> } & {
  /** A fresh 25-character id from the store's random source. */
  newId(): string;
  /** The transaction's timestamp (one per transaction). */
  readonly now: string;
};

export interface MemoryStoreOptions {
  now?: () => Date;
  random?: RandomBytes;
}

type Row = StoreObject;

class Table {
  readonly rows = new Map<string, Row>();
  readonly names = new Map<string, string>();
  /** Secondary indexes for the hot task queries (scheduler, dispatcher, orchestrators). */
  readonly byService = new Map<string, Set<string>>();
  readonly byNode = new Map<string, Set<string>>();

  constructor(readonly name: TableName) {}

  put(obj: Row): void {
    const old = this.rows.get(obj.ID);
    if (old) this.unindex(old);
    this.rows.set(obj.ID, obj);
    const n = uniqueName(this.name, obj);
    if (n !== undefined) this.names.set(n, obj.ID);
    if (this.name === 'tasks') {
      const t = obj as Task;
      addTo(this.byService, t.ServiceID, t.ID);
      addTo(this.byNode, t.NodeID, t.ID);
    }
  }

  remove(id: string): Row | undefined {
    const old = this.rows.get(id);
    if (!old) return undefined;
    this.unindex(old);
    this.rows.delete(id);
    return old;
  }

  private unindex(obj: Row): void {
    const n = uniqueName(this.name, obj);
    if (n !== undefined && this.names.get(n) === obj.ID) this.names.delete(n);
    if (this.name === 'tasks') {
      const t = obj as Task;
      this.byService.get(t.ServiceID)?.delete(t.ID);
      this.byNode.get(t.NodeID)?.delete(t.ID);
    }
  }

  find(q: By): Row[] {
    let candidates: Iterable<Row>;
    if (q.by === 'id') {
      const r = this.rows.get(q.id);
      return r ? [r] : [];
    } else if (q.by === 'name' && this.name !== 'nodes' && this.name !== 'tasks') {
      const id = this.names.get(q.name.toLowerCase());
      const r = id === undefined ? undefined : this.rows.get(id);
      return r ? [r] : [];
    } else if (q.by === 'serviceId' || q.by === 'slot') {
      candidates = idsToRows(this.rows, this.byService.get(q.serviceId));
    } else if (q.by === 'nodeId') {
      candidates = idsToRows(this.rows, this.byNode.get(q.nodeId));
    } else candidates = this.rows.values();
    const out: Row[] = [];
    for (const r of candidates) if (matches(this.name, r, q)) out.push(r);
    return out;
  }
}

function addTo(index: Map<string, Set<string>>, key: string, id: string): void {
  let s = index.get(key);
  if (!s) index.set(key, (s = new Set()));
  s.add(id);
}

function* idsToRows(rows: Map<string, Row>, ids: Set<string> | undefined): Iterable<Row> {
  for (const id of ids ?? []) {
    const r = rows.get(id);
    if (r) yield r;
  }
}

const byId = (a: Row, b: Row): number => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);

/** Stored objects are shared with every reader: freezing makes an accidental write throw. */
function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

const outOfSequence = (table: TableName, id: string): TsswarmError =>
  new TsswarmError(ErrorCode.OutOfSequence, `update out of sequence: ${table} ${id}`);

const SNAPSHOT_FORMAT = 1;
interface SnapshotData {
  format: number;
  index: number;
  tables: Record<TableName, Row[]>;
}

/**
 * Swarmkit's memory store in TypeScript: tables changed only through committed raft entries.
 * `update` runs a transaction against a private overlay, encodes its actions and proposes
 * them; `apply` (on every manager) re-checks versions and names and changes the tables, then
 * publishes the events. Readers see committed state only.
 */
export class MemoryStore implements FSM<ApplyResult> {
  private readonly tables = new Map<TableName, Table>(TABLE_NAMES.map((n) => [n, new Table(n)]));
  private readonly watchers = new Set<Watcher>();
  /** Results of this manager's own proposals in flight (undefined until applied here). */
  private readonly results = new Map<string, ApplyResult | undefined>();
  private readonly clock: () => Date;
  private readonly random: RandomBytes;
  private readonly proposalPrefix: string;
  private proposals = 0;
  private proposer: Proposer | undefined;
  private lastIndex = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.now ?? (() => new Date());
    this.random = options.random ?? defaultRandom;
    this.proposalPrefix = generateId(this.random).slice(0, 10);
  }

  /** Raft needs the store (as FSM) before the store can propose through it. */
  setProposer(p: Proposer): void {
    this.proposer = p;
  }

  /** Raft index of the last applied entry (0 when empty). */
  get index(): number {
    return this.lastIndex;
  }

  view<R>(fn: (tx: ReadTx) => R): R {
    return fn(this.readTx());
  }

  /**
   * Runs `fn` against the committed state plus its own writes, then proposes the writes as one
   * raft entry and resolves once it is applied here. `fn` must be synchronous; it may throw a
   * TsswarmError (from the table helpers, or its own) to abort, which comes back as a value.
   */
  async update<R>(fn: (tx: WriteTx) => R): Promise<UpdateResult<R>> {
    const tx = new WriteTransaction(this, this.clock().toISOString(), this.random);
    let value: R;
    try {
      value = fn(tx.api);
    } catch (err) {
      if (err instanceof TsswarmError) return { ok: false, error: err };
      throw err;
    }
    const actions = tx.actions();
    if (actions.length === 0) return { ok: true, value, index: this.lastIndex };
    if (!this.proposer) {
      throw new TsswarmError(
        ErrorCode.Unavailable,
        'store has no proposer: this manager cannot write',
      );
    }
    const proposal = `${this.proposalPrefix}-${++this.proposals}`;
    const data = encodeCommand({ v: 1, proposal, actions });
    this.results.set(proposal, undefined);
    try {
      await this.proposer.propose(data);
    } catch (err) {
      this.results.delete(proposal);
      throw err;
    }
    const result = this.results.get(proposal);
    this.results.delete(proposal);
    if (!result) {
      throw new TsswarmError(
        ErrorCode.Unavailable,
        'proposal committed but not applied on this manager (leadership changed?)',
      );
    }
    if (!result.ok)
      return { ok: false, error: new TsswarmError(result.error.code, result.error.message) };
    return { ok: true, value, index: result.index };
  }

  /** Subscribes to events after commit; iterate with `for await`, stop with `close()` or the signal. */
  watch(filter: WatchFilter = {}): Watcher {
    const w = new Watcher(filter, (x) => this.watchers.delete(x));
    this.watchers.add(w);
    return w;
  }

  /** Reads and subscribes with nothing applied in between (both happen in one tick). */
  viewAndWatch<R>(fn: (tx: ReadTx) => R, filter: WatchFilter = {}): { value: R; watcher: Watcher } {
    const value = this.view(fn);
    return { value, watcher: this.watch(filter) };
  }

  apply(entry: LogEntry): ApplyResult {
    if (entry.data.length === 0) {
      this.lastIndex = Math.max(this.lastIndex, entry.index);
      return { ok: true, index: entry.index };
    }
    const decoded = decodeCommand(entry.data);
    let result: ApplyResult;
    let events: StoreEvent[] = [];
    if (!decoded.ok) {
      result = { ok: false, error: { code: ErrorCode.InvalidArgument, message: decoded.error } };
    } else {
      const r = this.applyActions(decoded.command, entry.index);
      if (r.ok) {
        events = r.events;
        result = { ok: true, index: entry.index };
      } else result = { ok: false, error: r.error.toWire() };
      // Only our own proposals wait for a result; entries from other managers leave no trace.
      const p = decoded.command.proposal;
      if (p !== undefined && this.results.has(p)) this.results.set(p, result);
    }
    this.lastIndex = Math.max(this.lastIndex, entry.index);
    if (events.length > 0) {
      for (const e of events) this.publish(e);
      this.publish({ type: 'commit', index: entry.index });
    }
    return result;
  }

  snapshot(): Uint8Array {
    const tables = {} as Record<TableName, Row[]>;
    for (const [name, t] of this.tables) tables[name] = [...t.rows.values()].sort(byId);
    const data: SnapshotData = { format: SNAPSHOT_FORMAT, index: this.lastIndex, tables };
    return new TextEncoder().encode(canonicalJson(data));
  }

  restore(data: Uint8Array): void {
    const parsed = JSON.parse(new TextDecoder().decode(data)) as SnapshotData;
    if (parsed.format !== SNAPSHOT_FORMAT) {
      throw new TsswarmError(
        ErrorCode.DataCorrupt,
        `unknown store snapshot format ${String(parsed.format)}`,
      );
    }
    const fresh = new Map<TableName, Table>(TABLE_NAMES.map((n) => [n, new Table(n)]));
    for (const name of TABLE_NAMES) {
      const t = fresh.get(name) as Table;
      for (const row of parsed.tables[name] ?? []) t.put(deepFreeze(row));
    }
    this.tables.clear();
    for (const [k, v] of fresh) this.tables.set(k, v);
    this.lastIndex = parsed.index;
    this.publish({ type: 'reset', index: parsed.index });
  }

  /** @internal Used by WriteTransaction to read committed state. */
  table(name: TableName): Table {
    return this.tables.get(name) as Table;
  }

  private publish(e: StoreEvent): void {
    for (const w of this.watchers) w.push(e);
  }

  /** All or nothing: changes are staged, checked, then swapped in. */
  private applyActions(
    cmd: StoreCommand,
    index: number,
  ): { ok: true; events: StoreEvent[] } | { ok: false; error: TsswarmError } {
    const staged = new Map<string, { table: TableName; id: string; after: Row | null }>();
    const current = (table: TableName, id: string): Row | undefined => {
      const s = staged.get(`${table}/${id}`);
      if (s) return s.after ?? undefined;
      return this.table(table).rows.get(id);
    };
    const nameOwner = (table: TableName, name: string): string | undefined => {
      for (const s of staged.values()) {
        if (s.table === table && s.after && uniqueName(table, s.after) === name) return s.id;
      }
      const id = this.table(table).names.get(name);
      if (id === undefined) return undefined;
      const s = staged.get(`${table}/${id}`);
      if (s && (s.after === null || uniqueName(table, s.after) !== name)) return undefined;
      return id;
    };
    const events: StoreEvent[] = [];
    for (const a of cmd.actions) {
      const key = `${a.table}/${a.kind === 'delete' ? a.id : a.object.ID}`;
      if (a.kind === 'delete') {
        const old = current(a.table, a.id);
        if (!old) return { ok: false, error: notFoundIn(a.table, a.id) };
        staged.set(key, { table: a.table, id: a.id, after: null });
        events.push({ type: 'delete', table: a.table, object: old, index } as StoreEvent);
        continue;
      }
      const obj = deepFreeze({ ...a.object, Version: { Index: index } }) as Row;
      const old = current(a.table, obj.ID);
      if (a.kind === 'create' && old) {
        return { ok: false, error: conflictIn(a.table, `id ${obj.ID} exists`) };
      }
      if (a.kind === 'update') {
        if (!old) return { ok: false, error: notFoundIn(a.table, obj.ID) };
        if (old.Version.Index !== a.expectedVersion)
          return { ok: false, error: outOfSequence(a.table, obj.ID) };
      }
      const name = uniqueName(a.table, obj);
      if (name !== undefined) {
        const owner = nameOwner(a.table, name);
        if (owner !== undefined && owner !== obj.ID) {
          return {
            ok: false,
            error: conflictIn(a.table, `name ${JSON.stringify(name)} is taken by ${owner}`),
          };
        }
      }
      staged.set(key, { table: a.table, id: obj.ID, after: obj });
      events.push(
        (a.kind === 'create'
          ? { type: 'create', table: a.table, object: obj, index }
          : { type: 'update', table: a.table, object: obj, old, index }) as StoreEvent,
      );
    }
    for (const s of staged.values()) {
      const t = this.table(s.table);
      if (s.after) t.put(s.after);
      else t.remove(s.id);
    }
    return { ok: true, events };
  }

  private readTx(): ReadTx {
    const api = {} as Record<TableName, TableReader<Row, By>>;
    for (const name of TABLE_NAMES) {
      const t = this.table(name);
      api[name] = {
        get: (id) => t.rows.get(id),
        find: (by = { by: 'all' }) => t.find(by).sort(byId),
      };
    }
    return api as unknown as ReadTx;
  }
}

function singular(table: TableName): string {
  return table === 'clusters' ? 'cluster' : table.slice(0, -1);
}

function notFoundIn(table: TableName, id: string): TsswarmError {
  return new TsswarmError(ErrorCode.NotFound, `${singular(table)} ${id} not found`);
}

function conflictIn(table: TableName, why: string): TsswarmError {
  return new TsswarmError(ErrorCode.Conflict, `${singular(table)} conflicts: ${why}`);
}

function defaultRandom(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** Staged writes over committed state; collapsed to one action per object on commit. */
class WriteTransaction {
  private readonly overlay = new Map<string, { table: TableName; after: Row | null }>();
  /** Per object: the first action's kind and the version it read (for the out-of-sequence check). */
  private readonly origin = new Map<string, { existed: boolean; version: number }>();
  readonly api: WriteTx;

  constructor(
    private readonly store: MemoryStore,
    readonly now: string,
    private readonly random: RandomBytes,
  ) {
    const api: Record<string, unknown> = {
      newId: () => generateId(this.random),
      now,
    };
    for (const name of TABLE_NAMES) api[name] = this.tableApi(name);
    this.api = api as unknown as WriteTx;
  }

  private get(table: TableName, id: string): Row | undefined {
    const o = this.overlay.get(`${table}/${id}`);
    if (o) return o.after ?? undefined;
    return this.store.table(table).rows.get(id);
  }

  private find(table: TableName, by: By): Row[] {
    const out = new Map<string, Row>();
    for (const r of this.store.table(table).find(by)) {
      if (!this.overlay.has(`${table}/${r.ID}`)) out.set(r.ID, r);
    }
    for (const o of this.overlay.values()) {
      if (o.table === table && o.after && matches(table, o.after, by)) out.set(o.after.ID, o.after);
    }
    return [...out.values()].sort(byId);
  }

  private remember(table: TableName, id: string): void {
    const key = `${table}/${id}`;
    if (this.origin.has(key)) return;
    const base = this.store.table(table).rows.get(id);
    this.origin.set(key, { existed: base !== undefined, version: base?.Version.Index ?? 0 });
  }

  private tableApi(table: TableName): TableWriter<Meta, By> {
    return {
      get: (id) => this.get(table, id),
      find: (by = { by: 'all' }) => this.find(table, by),
      create: (object) => {
        if (typeof object.ID !== 'string' || object.ID === '') {
          throw new TsswarmError(
            ErrorCode.InvalidArgument,
            `${singular(table)} to create has no ID`,
          );
        }
        if (this.get(table, object.ID)) throw conflictIn(table, `id ${object.ID} exists`);
        const obj = {
          ...object,
          Version: { Index: 0 },
          CreatedAt: this.now,
          UpdatedAt: this.now,
        } as Row;
        this.checkName(table, obj);
        this.remember(table, obj.ID);
        this.overlay.set(`${table}/${obj.ID}`, { table, after: obj });
        return obj;
      },
      update: (object) => {
        const old = this.get(table, object.ID);
        if (!old) throw notFoundIn(table, object.ID);
        if (old.Version.Index !== object.Version.Index) throw outOfSequence(table, object.ID);
        const obj = { ...(object as Row), UpdatedAt: this.now } as Row;
        this.checkName(table, obj);
        this.remember(table, obj.ID);
        this.overlay.set(`${table}/${obj.ID}`, { table, after: obj });
        return obj;
      },
      delete: (id) => {
        if (!this.get(table, id)) throw notFoundIn(table, id);
        this.remember(table, id);
        this.overlay.set(`${table}/${id}`, { table, after: null });
      },
    };
  }

  private checkName(table: TableName, obj: Row): void {
    const name = uniqueName(table, obj);
    if (name === undefined) return;
    const owner = this.find(table, { by: 'name', name }).find((r) => r.ID !== obj.ID);
    if (owner) throw conflictIn(table, `name ${JSON.stringify(name)} is taken by ${owner.ID}`);
  }

  /** One action per touched object, in first-touch order. */
  actions(): StoreAction[] {
    const out: StoreAction[] = [];
    for (const [key, o] of this.overlay) {
      const origin = this.origin.get(key) as { existed: boolean; version: number };
      const id = key.slice(o.table.length + 1);
      if (o.after === null) {
        if (origin.existed) out.push({ kind: 'delete', table: o.table, id });
      } else if (!origin.existed) {
        out.push({ kind: 'create', table: o.table, object: o.after });
      } else {
        out.push({
          kind: 'update',
          table: o.table,
          object: o.after,
          expectedVersion: origin.version,
        });
      }
    }
    return out;
  }
}
