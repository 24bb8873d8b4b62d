import { randomBytes } from "node:crypto";
import { Query } from "mingo";
import { type Modifier, updateMany as mingoUpdateMany, type PipelineStage } from "mingo/updater";
import { createLog, type DevServerLogger, type Log } from "../shared/log.ts";
import type { SavedSection } from "../shared/saved-section.ts";
import {
  assertCollectionName,
  assertDocumentId,
  assertObject,
  assertSafeJson,
  cloneJson,
  createIdGenerator,
  type DataDocument,
  deepFreeze,
  isPlainObject,
} from "./documents.ts";
import { DataError, DataErrorReason, DataFileError } from "./errors.ts";
import {
  type DataFileSection,
  DebouncedSaver,
  type LoadedDataFile,
  loadDataFile,
  serializeCollections,
} from "./persistence.ts";

/**
 * Who performs an operation, and through which transaction. The store takes values as they are:
 * placeholders such as `"@me"` are replaced by its callers (the data API, the view renderer).
 */
export interface DataContext {
  /** The user a transaction belongs to. */
  userId?: string | undefined;
  /**
   * A token from {@link DataStore.startTransaction}: reads see the transaction's own writes, and
   * writes stay invisible to everyone else until it is committed.
   */
  transaction?: string | undefined;
}

/** MongoDB find options, as `@lenra/app` sends them. */
export interface FindOptions {
  limit?: number | null | undefined;
  skip?: number | null | undefined;
  sort?: Record<string, unknown> | null | undefined;
}

/** What a find asks for: a MongoDB query, an optional projection and options. */
export interface FindRequest {
  query?: Record<string, unknown> | null | undefined;
  projection?: Record<string, unknown> | null | undefined;
  options?: FindOptions | null | undefined;
}

/** The outcome of {@link DataStore.updateMany}. */
export interface UpdateManyResult {
  matchedCount: number;
  modifiedCount: number;
}

/** One document a change created, replaced or deleted, as it was and as it is. */
export interface DocumentChange {
  readonly coll: string;
  /** The document before the change; `undefined` when the change created it. */
  readonly before: Readonly<DataDocument> | undefined;
  /** The document after the change; `undefined` when the change deleted it. */
  readonly after: Readonly<DataDocument> | undefined;
}

/** Emitted after every committed change: the collections it touched and its documents. */
export interface DataChange {
  collections: ReadonlySet<string>;
  /** Frozen: read them, never keep them changed. */
  documents: readonly DocumentChange[];
}

/**
 * A test of documents against a MongoDB query, as the store's `find` runs it (through mingo).
 * Throws a `DataError` (`invalid_query`) for a query mingo refuses.
 */
export function queryMatcher(query: Record<string, unknown>): (doc: object) => boolean {
  try {
    const compiled = new Query(query, MINGO_OPTIONS);
    return (doc) => compiled.test(doc as Record<string, unknown>);
  } catch (error) {
    throw asDataError(error, DataErrorReason.InvalidQuery, "query");
  }
}

/**
 * Options of {@link createDataStore}.
 *
 * @example
 * ```ts
 * const store = await createDataStore({ file: ".devserver-data.json", saveDelayMs: 0 });
 * ```
 */
export interface DataStoreOptions {
  /** A JSON file loaded at start and saved after changes. Defaults to memory only. */
  file?: string | undefined;
  /** How long changes gather before one save. Defaults to 100 ms. */
  saveDelayMs?: number | undefined;
  /** A transaction neither committed nor aborted by then is aborted. Defaults to 60 s. */
  transactionTimeoutMs?: number | undefined;
  /** Receives diagnostics; never document contents or tokens. Defaults to silence. */
  logger?: DevServerLogger | undefined;
}

/** The public state of a transaction token. */
export interface TransactionInfo {
  userId: string | undefined;
  state: "active" | "committed" | "aborted" | "expired";
}

type StoredDoc = Readonly<DataDocument>;
type Collection = ReadonlyMap<string, StoredDoc>;
type Snapshot = ReadonlyMap<string, Collection>;

const EMPTY_COLLECTION: Collection = new Map();
const ENDED_TRANSACTIONS_KEPT = 1000;
const MINGO_OPTIONS = { scriptEnabled: false } as const;

/**
 * Pending writes over a snapshot. A collection is copied on its first write; `written` records
 * every id created, replaced or deleted so a commit can check them for conflicts.
 */
class Draft {
  readonly base: Snapshot;
  readonly copies = new Map<string, Map<string, StoredDoc>>();
  readonly written = new Map<string, Set<string>>();

  constructor(base: Snapshot) {
    this.base = base;
  }

  read(coll: string): Collection {
    return this.copies.get(coll) ?? this.base.get(coll) ?? EMPTY_COLLECTION;
  }

  set(coll: string, id: string, doc: StoredDoc | undefined): void {
    let copy = this.copies.get(coll);
    if (!copy) {
      copy = new Map(this.base.get(coll));
      this.copies.set(coll, copy);
    }
    if (doc) copy.set(id, doc);
    else copy.delete(id);
    let ids = this.written.get(coll);
    if (!ids) {
      ids = new Set();
      this.written.set(coll, ids);
    }
    ids.add(id);
  }
}

interface Transaction {
  readonly draft: Draft;
  readonly userId: string | undefined;
  readonly timer: NodeJS.Timeout;
}

/**
 * Opens a store, loading `options.file` when given: the dev server's data, to prepare or check
 * a data file while no dev server runs on it. Rejects with a `DevServerError` of reason
 * `invalid_data_file` when the file exists but is not a valid data file (it is left untouched).
 *
 * @example
 * ```ts
 * const store = await createDataStore({ file: ".devserver-data.json" });
 * store.createDoc("counter", { user: "global", count: 41 });
 * await store.close(); // saved: the next dev server on this file starts from it
 * ```
 */
export async function createDataStore(options: DataStoreOptions = {}): Promise<DataStore> {
  const loaded = options.file
    ? await loadDataFile(options.file)
    : { collections: new Map(), platform: {}, sections: {} };
  return new DataStore(options, loaded.collections, loaded.platform, loaded.sections);
}

/**
 * The app's data: collections of JSON documents queried and updated with MongoDB's language
 * (through mingo), with `"@me"` substitution, atomic transactions, change events and optional
 * persistence to a JSON file.
 *
 * Committed data is an immutable snapshot replaced as a whole by every write, so reads never see a
 * half-applied write and a transaction holds its starting snapshot for free.
 *
 * Transactions use snapshot isolation, as MongoDB's do: a transaction reads the data as it was
 * when it started plus its own writes; at commit, if a document it wrote was changed by anyone
 * else since it started, the commit fails with `transaction_conflict` (409) and nothing of it is
 * applied; otherwise all its writes are applied in one synchronous step.
 *
 * @example
 * ```ts
 * const server = await startDevServer({ app: "./my-app" });
 * server.store.find("counter", { query: { user: "global" } }); // [{ _id: "…", user: "global", count: 3 }]
 * server.store.updateMany("counter", { user: "global" }, { $inc: { count: 1 } }); // views update
 * ```
 */
export class DataStore {
  #committed: Snapshot;
  readonly #transactions = new Map<string, Transaction>();
  readonly #ended = new Map<string, TransactionInfo>();
  readonly #listeners = new Set<(change: DataChange) => void>();
  readonly #saver: DebouncedSaver | undefined;
  readonly #log: Log;
  readonly #transactionTimeoutMs: number;
  readonly #newId = createIdGenerator();
  #platform: Record<string, unknown>;
  /** Each owned section: what the file held, until its owner gives what to save instead. */
  readonly #sections = new Map<DataFileSection, { saved: unknown; snapshot?: () => unknown }>();
  readonly #file: string | undefined;
  #closed = false;

  /** Use {@link createDataStore}, which loads the file first. */
  constructor(
    options: DataStoreOptions = {},
    initial: ReadonlyMap<string, DataDocument[]> = new Map(),
    platform: Record<string, unknown> = {},
    sections: LoadedDataFile["sections"] = {},
  ) {
    this.#platform = cloneJson(platform);
    this.#file = options.file;
    for (const [name, saved] of Object.entries(sections)) {
      this.#sections.set(name as DataFileSection, { saved });
    }
    this.#log = createLog(options.logger);
    this.#transactionTimeoutMs = options.transactionTimeoutMs ?? 60_000;
    const committed = new Map<string, Collection>();
    for (const [name, docs] of initial) {
      if (docs.length === 0) continue;
      committed.set(name, new Map(docs.map((doc) => [doc._id, deepFreeze(cloneJson(doc))])));
    }
    this.#committed = committed;
    if (options.file) {
      this.#saver = new DebouncedSaver(
        options.file,
        options.saveDelayMs ?? 100,
        () =>
          serializeCollections(
            [...this.#committed].map(([name, docs]) => [name, docs.values()]),
            this.#platform,
            // A section nobody took over (a store opened to edit the data) is written back as read.
            Object.fromEntries(
              [...this.#sections].map(([name, { saved, snapshot }]) => [
                name,
                snapshot ? snapshot() : saved,
              ]),
            ),
          ),
        (error) =>
          this.#log.error("Saving the data file failed; the next change retries", {
            error: (error as Error).message,
          }),
      );
    }
  }

  /** Calls `listener` after every committed change. Returns the unsubscribe function. */
  onChange(listener: (change: DataChange) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** The names of the collections that hold documents. */
  collectionNames(context: DataContext = {}): string[] {
    const view = this.#view(context);
    const names = new Set([...view.base.keys(), ...view.copies.keys()]);
    return [...names].filter((name) => view.read(name).size > 0).sort();
  }

  /** Runs a MongoDB find: query, then projection, sort, skip and limit. */
  find(coll: string, request: FindRequest = {}, context: DataContext = {}): DataDocument[] {
    assertCollectionName(coll);
    const query = this.#prepare(request.query ?? {}, "query");
    const projection = request.projection
      ? this.#prepare(request.projection, "projection")
      : undefined;
    const options = request.options ?? {};
    assertObject(options, "options");
    const docs = [...this.#view(context).read(coll).values()];
    try {
      const cursor = new Query(query, MINGO_OPTIONS).find<DataDocument>(docs, projection);
      if (options.sort !== undefined && options.sort !== null) {
        assertObject(options.sort, "options.sort");
        assertSafeJson(options.sort, "sort");
        cursor.sort(options.sort);
      }
      if (options.skip !== undefined && options.skip !== null)
        cursor.skip(count(options.skip, "skip"));
      if (options.limit !== undefined && options.limit !== null && options.limit !== 0) {
        cursor.limit(count(options.limit, "limit"));
      }
      return cloneJson(cursor.all());
    } catch (error) {
      throw asDataError(error, DataErrorReason.InvalidQuery, "query");
    }
  }

  /** Every document of a collection, in insertion order. */
  listDocs(coll: string, context: DataContext = {}): DataDocument[] {
    assertCollectionName(coll);
    return cloneJson([...this.#view(context).read(coll).values()]);
  }

  /** One document, or `undefined` when the collection has no document with this id. */
  getDoc(coll: string, id: string, context: DataContext = {}): DataDocument | undefined {
    assertCollectionName(coll);
    assertDocumentId(id);
    const doc = this.#view(context).read(coll).get(id);
    return doc ? cloneJson(doc) : undefined;
  }

  /** Inserts a document, generating its `_id` when it has none. Returns the stored document. */
  createDoc(coll: string, doc: unknown, context: DataContext = {}): DataDocument {
    const [created] = this.#write(context, (draft) => this.#insert(draft, coll, [doc]));
    return cloneJson(created as StoredDoc);
  }

  /** Inserts documents, all or none. Returns their ids in order. */
  insertMany(coll: string, docs: unknown, context: DataContext = {}): string[] {
    if (!Array.isArray(docs)) {
      throw new DataError(400, DataErrorReason.InvalidRequest, "documents must be an array.");
    }
    return this.#write(context, (draft) => this.#insert(draft, coll, docs)).map((doc) => doc._id);
  }

  /**
   * Replaces the document `id` by `doc` (whose `_id`, if any, must be `id`). Throws
   * `document_not_found` when there is no such document. Returns the stored document.
   */
  replaceDoc(coll: string, id: string, doc: unknown, context: DataContext = {}): DataDocument {
    assertCollectionName(coll);
    assertDocumentId(id);
    const replacement = this.#prepare(doc, "document");
    if (replacement._id !== undefined && replacement._id !== id) {
      throw new DataError(
        400,
        DataErrorReason.InvalidUpdate,
        "The document's _id differs from the id in the path: _id cannot change.",
      );
    }
    const stored = this.#write(context, (draft) => {
      if (!draft.read(coll).has(id)) throw notFound(coll, id);
      const next = withId(replacement, id);
      draft.set(coll, id, next);
      return next;
    });
    return cloneJson(stored);
  }

  /** Deletes the document `id`. Throws `document_not_found` when there is none. Returns it. */
  deleteDoc(coll: string, id: string, context: DataContext = {}): DataDocument {
    assertCollectionName(coll);
    assertDocumentId(id);
    const deleted = this.#write(context, (draft) => {
      const existing = draft.read(coll).get(id);
      if (!existing) throw notFound(coll, id);
      draft.set(coll, id, undefined);
      return existing;
    });
    return cloneJson(deleted);
  }

  /**
   * Applies a MongoDB update (operators such as `$set`, `$inc`, `$push`, `$pull`, `$unset`, or an
   * aggregation pipeline) to every document `filter` matches. `_id` cannot change.
   */
  updateMany(
    coll: string,
    filter: unknown,
    update: unknown,
    context: DataContext = {},
  ): UpdateManyResult {
    assertCollectionName(coll);
    const query = this.#prepare(filter ?? {}, "filter");
    const modifier = this.#prepareUpdate(update);
    return this.#write(context, (draft) => {
      let matched: StoredDoc[];
      try {
        const predicate = new Query(query, MINGO_OPTIONS);
        matched = [...draft.read(coll).values()].filter((doc) => predicate.test(doc));
      } catch (error) {
        throw asDataError(error, DataErrorReason.InvalidQuery, "filter");
      }
      let modifiedCount = 0;
      for (const doc of matched) {
        const target = [cloneJson(doc)];
        let result: { modifiedCount: number };
        try {
          result = mingoUpdateMany(target, {}, modifier, {}, MINGO_OPTIONS);
        } catch (error) {
          throw asDataError(error, DataErrorReason.InvalidUpdate, "update");
        }
        if (result.modifiedCount === 0) continue;
        const next = cloneJson(target[0]) as DataDocument;
        if (next._id !== doc._id) {
          throw new DataError(400, DataErrorReason.InvalidUpdate, "An update cannot change _id.");
        }
        assertSafeJson(next, "updated document");
        draft.set(coll, doc._id, deepFreeze(next));
        modifiedCount += 1;
      }
      return { matchedCount: matched.length, modifiedCount };
    });
  }

  /**
   * Starts a transaction for `context.userId` and returns its opaque token. Pass the token as
   * `context.transaction`, then {@link commitTransaction} or {@link abortTransaction} it.
   */
  startTransaction(context: Pick<DataContext, "userId"> = {}): string {
    this.#assertOpen();
    const token = `ltx_${randomBytes(24).toString("base64url")}`;
    const timer = setTimeout(() => this.#end(token, "expired"), this.#transactionTimeoutMs);
    // An abandoned transaction must not keep the process alive.
    timer.unref();
    this.#transactions.set(token, {
      draft: new Draft(this.#committed),
      userId: context.userId,
      timer,
    });
    return token;
  }

  /**
   * Applies every write of the transaction at once. Throws `transaction_conflict` (and applies
   * nothing) when a document it wrote was changed by someone else since it started, and
   * `transaction_ended` when it was already committed, aborted or expired.
   */
  commitTransaction(token: string): void {
    const transaction = this.#active(token);
    const { draft } = transaction;
    for (const [coll, ids] of draft.written) {
      const now = this.#committed.get(coll);
      const then = draft.base.get(coll);
      for (const id of ids) {
        if (now?.get(id) !== then?.get(id)) {
          this.#end(token, "aborted");
          throw new DataError(
            409,
            DataErrorReason.TransactionConflict,
            `The transaction was aborted: document ${id} of "${coll}" was changed by another write after the transaction started. Start a new transaction and retry.`,
          );
        }
      }
    }
    this.#end(token, "committed");
    this.#publish(draft);
  }

  /** Drops every write of the transaction. */
  abortTransaction(token: string): void {
    this.#active(token);
    this.#end(token, "aborted");
  }

  /** The state of a transaction token, or `undefined` for a token this store never issued. */
  getTransaction(token: string): TransactionInfo | undefined {
    const active = this.#transactions.get(token);
    if (active) return { userId: active.userId, state: "active" };
    const ended = this.#ended.get(token);
    return ended ? { ...ended } : undefined;
  }

  /**
   * A value the platform keeps beside the app's data (such as the users who already joined),
   * saved in the same file. The data API never sees it.
   */
  getPlatformValue(key: string): unknown {
    const value = Object.hasOwn(this.#platform, key) ? this.#platform[key] : undefined;
    return value === undefined ? undefined : cloneJson(value);
  }

  /** Sets a platform value (JSON) and saves it with the data. */
  setPlatformValue(key: string, value: unknown): void {
    this.#assertOpen();
    assertSafeJson(value, "platform value");
    this.#platform = { ...this.#platform, [key]: cloneJson(value) };
    this.#saver?.schedule();
  }

  /**
   * The section `name` of the data file, which another part of the dev server owns and saves
   * with the data: `auth` holds the OAuth server's keys and logins. A section nobody takes over
   * is written back as it was read.
   *
   * @example
   * ```ts
   * const store = await createDataStore({ file: ".devserver-data.json" });
   * const auth = await startAuthServer({ port: 0, persistence: store.section("auth") });
   * ```
   */
  section(name: DataFileSection): SavedSection {
    return {
      load: (parse) => {
        const saved = this.#sections.get(name)?.saved;
        if (saved === undefined) return undefined;
        try {
          return parse(saved);
        } catch (error) {
          throw new DataFileError(
            this.#file ?? "(memory)",
            `its "${name}" section is invalid: ${(error as Error).message.replace(/\.$/, "")}`,
            { cause: error },
          );
        }
      },
      save: (snapshot) => {
        if (this.#saver === undefined) return;
        this.#assertOpen();
        this.#sections.set(name, { saved: undefined, snapshot });
        this.#saver.schedule();
      },
    };
  }

  /** Writes the data file now if anything changed; resolves when it is on disk. */
  async flush(): Promise<void> {
    await this.#saver?.flush();
  }

  /**
   * Aborts open transactions, saves pending changes and refuses any later write. Rejects if the
   * final save fails.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const token of [...this.#transactions.keys()]) this.#end(token, "aborted");
      this.#listeners.clear();
    }
    await this.#saver?.flush();
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new DataError(503, DataErrorReason.StoreClosed, "The data store is closed.");
  }

  #active(token: string): Transaction {
    this.#assertOpen();
    const transaction = this.#transactions.get(token);
    if (transaction) return transaction;
    const ended = this.#ended.get(token);
    if (ended) {
      throw new DataError(
        409,
        DataErrorReason.TransactionEnded,
        `This transaction was already ${ended.state}.`,
      );
    }
    throw new DataError(400, DataErrorReason.UnknownTransaction, "Unknown transaction token.");
  }

  #end(token: string, state: TransactionInfo["state"]): void {
    const transaction = this.#transactions.get(token);
    if (!transaction) return;
    clearTimeout(transaction.timer);
    this.#transactions.delete(token);
    this.#ended.set(token, { userId: transaction.userId, state });
    // Only recent tokens are remembered, for clear errors; older ones become unknown.
    if (this.#ended.size > ENDED_TRANSACTIONS_KEPT) {
      const oldest = this.#ended.keys().next().value;
      if (oldest !== undefined) this.#ended.delete(oldest);
    }
    if (state === "expired")
      this.#log.warn("A transaction expired before it was committed or aborted");
  }

  /** What a context reads: the committed data, or a transaction's snapshot plus its writes. */
  #view(context: DataContext): Draft {
    if (context.transaction !== undefined) return this.#active(context.transaction).draft;
    this.#assertOpen();
    return new Draft(this.#committed);
  }

  /** Runs `apply` on a draft: the transaction's, or a fresh one published at once. */
  #write<T>(context: DataContext, apply: (draft: Draft) => T): T {
    if (context.transaction !== undefined) {
      const { draft } = this.#active(context.transaction);
      // Written on a scratch copy first, so a failing operation leaves the transaction unchanged.
      const scratch = new Draft(draft.base);
      for (const [coll, copy] of draft.copies) scratch.copies.set(coll, new Map(copy));
      for (const [coll, ids] of draft.written) scratch.written.set(coll, new Set(ids));
      const result = apply(scratch);
      draft.copies.clear();
      draft.written.clear();
      for (const [coll, copy] of scratch.copies) draft.copies.set(coll, copy);
      for (const [coll, ids] of scratch.written) draft.written.set(coll, ids);
      return result;
    }
    this.#assertOpen();
    const draft = new Draft(this.#committed);
    const result = apply(draft);
    this.#publish(draft);
    return result;
  }

  /** Applies a draft's writes to the committed data in one step, then notifies and saves. */
  #publish(draft: Draft): void {
    if (draft.written.size === 0) return;
    const next = new Map(this.#committed);
    const documents: DocumentChange[] = [];
    for (const [coll, ids] of draft.written) {
      const previous = this.#committed.get(coll);
      // A non-transactional draft is based on the current data: its copy is the new collection.
      let collection: Map<string, StoredDoc>;
      if (draft.base === this.#committed) {
        collection = draft.copies.get(coll) as Map<string, StoredDoc>;
      } else {
        collection = new Map(this.#committed.get(coll));
        const source = draft.read(coll);
        for (const id of ids) {
          const doc = source.get(id);
          if (doc) collection.set(id, doc);
          else collection.delete(id);
        }
      }
      if (collection.size === 0) next.delete(coll);
      else next.set(coll, collection);
      for (const id of ids) {
        const before = previous?.get(id);
        const after = collection.get(id);
        if (before !== after) documents.push({ coll, before, after });
      }
    }
    this.#committed = next;
    this.#saver?.schedule();
    const change: DataChange = { collections: new Set(draft.written.keys()), documents };
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.#log.error("A data change listener threw", { error: (error as Error).message });
      }
    }
  }

  #insert(draft: Draft, coll: string, docs: unknown[]): StoredDoc[] {
    assertCollectionName(coll);
    const prepared = docs.map((doc) => this.#prepare(doc, "document"));
    const created: StoredDoc[] = [];
    for (const doc of prepared) {
      const id = doc._id === undefined ? this.#newId() : doc._id;
      assertDocumentId(id);
      if (draft.read(coll).has(id)) {
        throw new DataError(
          409,
          DataErrorReason.DuplicateId,
          `"${coll}" already has a document with _id ${id}.`,
        );
      }
      const stored = withId(doc, id);
      draft.set(coll, id, stored);
      created.push(stored);
    }
    return created;
  }

  /** Checks a JSON object from a caller; returns a private copy. */
  #prepare(value: unknown, what: string): Record<string, unknown> {
    if (!isPlainObject(value)) {
      throw new DataError(
        400,
        DataErrorReason.InvalidRequest,
        `The ${what} must be a JSON object.`,
      );
    }
    assertSafeJson(value, what);
    return cloneJson(value);
  }

  #prepareUpdate(update: unknown): Modifier<DataDocument> | PipelineStage[] {
    if (Array.isArray(update)) {
      assertSafeJson(update, "update");
      if (update.length === 0 || !update.every(isPlainObject)) {
        throw new DataError(
          400,
          DataErrorReason.InvalidUpdate,
          "An update pipeline must be a non-empty array of stages.",
        );
      }
      return cloneJson(update) as PipelineStage[];
    }
    const modifier = this.#prepare(update, "update");
    const keys = Object.keys(modifier);
    if (keys.length === 0 || !keys.every((key) => key.startsWith("$"))) {
      throw new DataError(
        400,
        DataErrorReason.InvalidUpdate,
        "An update must use update operators such as $set or $inc (to replace a whole document, PUT it).",
      );
    }
    return modifier as Modifier<DataDocument>;
  }
}

/** A frozen document with `_id` first, which makes the file and the answers easier to read. */
function withId(doc: Record<string, unknown>, id: string): StoredDoc {
  const { _id: _ignored, ...rest } = doc;
  return deepFreeze({ _id: id, ...rest });
}

function count(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new DataError(
      400,
      DataErrorReason.InvalidQuery,
      `options.${name} must be a non-negative integer.`,
    );
  }
  return value;
}

function notFound(coll: string, id: string): DataError {
  return new DataError(
    404,
    DataErrorReason.DocumentNotFound,
    `"${coll}" has no document with _id ${id}.`,
  );
}

function asDataError(error: unknown, reason: DataErrorReason, what: string): DataError {
  if (error instanceof DataError) return error;
  return new DataError(400, reason, `Invalid ${what}: ${(error as Error).message}`, {
    cause: error,
  });
}
