import type { IncomingMessage, ServerResponse } from "node:http";
import { DataError, DataErrorReason } from "./errors.ts";
import { decodeObjectIds, paramRefs, readObjectId, replaceParams } from "./placeholders.ts";
import type { DataContext, DataLogger, DataStore } from "./store.ts";

/** The path prefix of Lenra's data API; `api.url` given to listeners is the origin before it. */
export const DATA_API_PREFIX = "/app-api/v1/data";

/** What a data API bearer token stands for. */
export interface DataApiTokenInfo {
  /** The user `"@me"` stands for; absent for an environment token (onEnvStart…). */
  userId?: string | undefined;
  /** A transaction every request with this token runs in. */
  transaction?: string | undefined;
}

/**
 * Tells who a bearer token belongs to, or `undefined` to refuse it (401). Transaction tokens the
 * store issued are recognised before this is called.
 */
export type ResolveDataApiToken = (
  token: string,
) => DataApiTokenInfo | undefined | Promise<DataApiTokenInfo | undefined>;

export interface DataApiOptions {
  store: DataStore;
  resolveToken: ResolveDataApiToken;
  /** Larger bodies are refused with 413. Defaults to 1 MiB. */
  maxBodyBytes?: number | undefined;
  logger?: DataLogger | undefined;
}

/**
 * Handles a request if its path is under {@link DATA_API_PREFIX} and returns `true`; returns
 * `false` without touching the request otherwise, so it mounts in front of other handlers.
 */
export type DataApiHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

type Body = unknown;

/** What a route handler gets: the request, and Lenra's treatment of what it sends. */
interface RouteRequest {
  store: DataStore;
  context: DataContext;
  body: Body;
  /** `"@me"` and the other references replaced as Lenra replaces them, ids read. */
  replace<T>(value: T): T;
  /** The context without its transaction: Lenra runs only writes of documents in one. */
  outside: DataContext;
  /** Says once per kind of thing that Lenra would treat a value of the app's in a surprising way. */
  warn(key: string, message: string): void;
}

type RouteHandler = (request: RouteRequest) => unknown;

/** A route's handlers by HTTP method. */
type Route = Partial<Record<string, RouteHandler>>;

/**
 * Creates the HTTP handler of Lenra's data API with exactly the paths and verbs `@lenra/app`'s
 * client calls (see PROTOCOL.md §5), answering as Lenra's docs controller does: a missing
 * document is no error, a create makes its own id, `"@me"` is replaced (by `null` without a
 * user) in documents, queries and `updateMany` filters, and only document writes run inside a
 * transaction. Every route checks the bearer token; errors answer `{ message, reason }` with a
 * 4xx status, and nothing a client sends can crash the server.
 */
export function createDataApiHandler(options: DataApiOptions): DataApiHandler {
  const { store, resolveToken } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const log = options.logger ?? {};
  const warned = new Set<string>();
  const warn = (key: string, message: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    log.warn?.(message);
  };

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = matchRoute(path.slice(DATA_API_PREFIX.length));
    if (!route) {
      throw new DataError(404, DataErrorReason.RouteNotFound, `No data API route at ${path}.`);
    }
    const method = req.method ?? "GET";
    const handler = route[method];
    if (!handler) {
      res.setHeader("allow", Object.keys(route).join(", "));
      throw new DataError(
        405,
        DataErrorReason.MethodNotAllowed,
        `${method} is not allowed here; use ${Object.keys(route).join(" or ")}.`,
      );
    }
    const token = bearerToken(req);
    const context = await authenticate(token);
    const body =
      method === "POST" || method === "PUT"
        ? parseJson(await readBody(req, maxBodyBytes))
        : undefined;
    const replace = <T>(value: T): T =>
      decodeObjectIds(
        replaceParams(value, { me: context.userId ?? null }, (reference) =>
          warn(
            `missing:${reference}`,
            `The data API replaced "${reference}" by null: as on Lenra, listeners have only "@me" (no route, no roles).`,
          ),
        ),
      );
    const outside = { userId: context.userId };
    const result = handler({ store, context, body, replace, outside, warn });
    // `undefined` is Lenra's nil: the JSON `null` a missing document is answered with.
    sendJson(res, 200, result === undefined ? null : result);
  }

  async function authenticate(token: string): Promise<DataContext> {
    const transaction = store.getTransaction(token);
    if (transaction) return { userId: transaction.userId, transaction: token };
    const info = await resolveToken(token);
    if (!info) {
      throw new DataError(
        401,
        DataErrorReason.InvalidToken,
        "The bearer token is unknown or was revoked.",
      );
    }
    return { userId: info.userId, transaction: info.transaction };
  }

  return (req, res) => {
    const path = pathOf(req.url);
    if (path !== DATA_API_PREFIX && !path.startsWith(`${DATA_API_PREFIX}/`)) return false;
    handle(req, res, path).catch((error: unknown) => {
      const dataError =
        error instanceof DataError
          ? error
          : new DataError(
              500,
              DataErrorReason.InternalError,
              "The data API failed; see the dev server's log.",
            );
      if (!(error instanceof DataError)) {
        log.error?.("The data API failed", {
          error: error instanceof Error ? error.stack : String(error),
        });
      } else {
        log.debug?.("Data API request refused", {
          status: dataError.status,
          reason: dataError.reason,
        });
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (dataError.status === 401)
        res.setHeader("www-authenticate", 'Bearer realm="lenra-data-api"');
      // The rest of an oversized body is never read: the connection cannot be reused.
      if (dataError.status === 413) res.setHeader("connection", "close");
      sendJson(res, dataError.status, dataError.toJSON());
    });
    return true;
  };
}

const startTransaction: RouteHandler = ({ store, context }) => {
  if (context.transaction !== undefined) {
    throw new DataError(
      400,
      DataErrorReason.NestedTransaction,
      "Transactions cannot be nested: commit or abort this one first.",
    );
  }
  return store.startTransaction({ userId: context.userId });
};

function transactionToken(context: DataContext): string {
  if (context.transaction === undefined) {
    throw new DataError(
      400,
      DataErrorReason.NotATransaction,
      "Call this with the transaction's token, not an API token.",
    );
  }
  return context.transaction;
}

function matchRoute(rest: string): Route | undefined {
  const segments = rest.split("/").slice(1);
  const [first, coll, action, id, extra] = segments.map(decodeSegment);
  if (first === "transaction" && segments.length === 1) {
    return { POST: startTransaction };
  }
  if (first === "transaction" && segments.length === 2 && (coll === "commit" || coll === "abort")) {
    const end = coll;
    return {
      POST: ({ store, context }) => {
        const token = transactionToken(context);
        if (end === "commit") store.commitTransaction(token);
        else store.abortTransaction(token);
        return {};
      },
    };
  }
  if (first !== "colls" || coll === undefined || coll === "" || extra !== undefined)
    return undefined;
  if (action === "docs" && id === undefined) {
    return {
      GET: ({ store, outside }) => store.listDocs(coll, outside),
      // Lenra drops the `_id` a client sends: the database makes the id.
      POST: ({ store, context, body, replace }) =>
        store.createDoc(coll, withoutId(replace(objectBody(body))), context),
    };
  }
  if (action === "docs" && id !== undefined && id !== "") {
    return {
      GET: ({ store, outside }) => store.getDoc(coll, documentId(id), outside),
      // No upsert: a missing document is left missing and Lenra answers what was sent, under
      // the path's id, whatever `_id` the body had.
      PUT: ({ store, context, body, replace }) => {
        const docId = documentId(id);
        const doc = withoutId(replace(objectBody(body)));
        if (!store.getDoc(coll, docId, context)) return { ...doc, _id: docId };
        return store.replaceDoc(coll, docId, doc, context);
      },
      // Lenra answers `{}` whether there was a document or not.
      DELETE: ({ store, context }) => {
        const docId = documentId(id);
        if (store.getDoc(coll, docId, context)) store.deleteDoc(coll, docId, context);
        return {};
      },
    };
  }
  if (id !== undefined) return undefined;
  if (action === "find") {
    return {
      // Only the query has its references replaced; a find ignores a transaction.
      POST: ({ store, outside, body, replace }) => {
        const { query, projection, options } = objectBody(body);
        return store.find(
          coll,
          {
            query: replace(query) as Record<string, unknown> | undefined,
            projection: projection as Record<string, unknown> | null | undefined,
            options: options as Record<string, unknown> | null | undefined,
          },
          outside,
        );
      },
    };
  }
  if (action === "insertMany") {
    return {
      POST: ({ store, context, body, replace }) => {
        const { documents } = objectBody(body);
        if (!Array.isArray(documents)) {
          throw new DataError(400, DataErrorReason.InvalidRequest, "documents must be an array.");
        }
        const docs = documents.map((doc) => withoutId(replace(objectBody(doc))));
        return { insertedIds: store.insertMany(coll, docs, context) };
      },
    };
  }
  if (action === "updateMany") {
    return {
      // Lenra replaces references in the filter only, runs the update outside any transaction
      // and answers the update it was given.
      POST: ({ store, outside, body, replace, warn }) => {
        const { filter, update } = objectBody(body);
        for (const reference of paramRefs(update)) {
          warn(
            `update:${reference}`,
            `An updateMany update holds "${reference}": Lenra replaces references in the filter only, so it stores the text "${reference}". The dev server does the same.`,
          );
        }
        store.updateMany(coll, replace(filter), update, outside);
        return update;
      },
    };
  }
  return undefined;
}

/** A path's document id: an ObjectId, in the dev server's form or Lenra's `ObjectId(<hex>)`. */
function documentId(id: string): string {
  const read = readObjectId(id);
  if (read === undefined) {
    throw new DataError(
      400,
      DataErrorReason.NotAnObjectId,
      `The given id is not a valid object id: "${id.slice(0, 80)}". Use the _id of a document, 24 hexadecimal digits.`,
    );
  }
  return read;
}

function withoutId(doc: Record<string, unknown>): Record<string, unknown> {
  const { _id: _dropped, ...rest } = doc;
  return rest;
}

function objectBody(body: Body): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new DataError(400, DataErrorReason.InvalidRequest, "The body must be a JSON object.");
  }
  return body as Record<string, unknown>;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new DataError(
      400,
      DataErrorReason.InvalidRequest,
      "The path holds an invalid percent-encoding.",
    );
  }
}

function pathOf(url: string | undefined): string {
  const raw = url ?? "/";
  const end = raw.search(/[?#]/);
  return end === -1 ? raw : raw.slice(0, end);
}

function bearerToken(req: IncomingMessage): string {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match?.[1]) {
    throw new DataError(
      401,
      DataErrorReason.MissingToken,
      "Send the API token as 'Authorization: Bearer <token>'.",
    );
  }
  return match[1];
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(bodyTooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

function bodyTooLarge(limit: number): DataError {
  return new DataError(
    413,
    DataErrorReason.BodyTooLarge,
    `The body is larger than the ${limit} bytes the data API accepts.`,
  );
}

function parseJson(buffer: Buffer): Body {
  if (buffer.length === 0) return undefined;
  try {
    return JSON.parse(buffer.toString("utf8"));
  } catch (error) {
    throw new DataError(
      400,
      DataErrorReason.InvalidJson,
      `The body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}
