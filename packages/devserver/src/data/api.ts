import type { IncomingMessage, ServerResponse } from "node:http";
import Router from "find-my-way";
import getRawBody from "raw-body";
import { createLog, createNotice, type DevServerLogger } from "../shared/log.ts";
import { DataError, DataErrorReason } from "./errors.ts";
import { decodeObjectIds, paramRefs, readObjectId, replaceParams } from "./placeholders.ts";
import type { DataContext, DataStore } from "./store.ts";

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
  logger?: DevServerLogger | undefined;
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
  /** The path's `:coll` and `:id`, percent-decoded. */
  params: { coll?: string; id?: string };
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

/** The methods the data API answers, in the order an `Allow` header lists them. */
const METHODS = ["GET", "POST", "PUT", "DELETE"] as const;

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
  const log = createLog(options.logger);
  const warn = createNotice(log);
  const router = createRouter();

  async function handle(req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
    const method = req.method ?? "GET";
    const found = router.find(method as Router.HTTPMethod, url);
    if (!found) {
      const allowed = METHODS.filter((other) => router.find(other, url) !== null);
      if (allowed.length === 0) {
        throw new DataError(
          404,
          DataErrorReason.RouteNotFound,
          `No data API route at ${pathOf(url)}.`,
        );
      }
      res.setHeader("allow", allowed.join(", "));
      throw new DataError(
        405,
        DataErrorReason.MethodNotAllowed,
        `${method} is not allowed here; use ${allowed.join(" or ")}.`,
      );
    }
    const route = found.handler as unknown as RouteHandler;
    const token = bearerToken(req);
    const context = await authenticate(token);
    const body = method === "POST" || method === "PUT" ? parseJson(await readBody(req)) : undefined;
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
    const result = route({ store, params: found.params, context, body, replace, outside, warn });
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

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    try {
      return await getRawBody(req, { length: req.headers["content-length"], limit: maxBodyBytes });
    } catch (error) {
      if ((error as { type?: unknown }).type !== "entity.too.large") throw error;
      throw new DataError(
        413,
        DataErrorReason.BodyTooLarge,
        `The body is larger than the ${maxBodyBytes} bytes the data API accepts.`,
      );
    }
  }

  return (req, res) => {
    const url = req.url ?? "/";
    const path = pathOf(url);
    if (path !== DATA_API_PREFIX && !path.startsWith(`${DATA_API_PREFIX}/`)) return false;
    handle(req, res, url).catch((error: unknown) => {
      const dataError =
        error instanceof DataError
          ? error
          : new DataError(
              500,
              DataErrorReason.InternalError,
              "The data API failed; see the dev server's log.",
            );
      if (!(error instanceof DataError)) {
        log.error("The data API failed", {
          error: error instanceof Error ? error.stack : String(error),
        });
      } else {
        log.debug("Data API request refused", {
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

/**
 * The paths and verbs `@lenra/app`'s data client calls, each answered as Lenra's docs controller
 * answers it. `:coll` and `:id` come percent-decoded; a path that cannot be decoded is a 400.
 */
function createRouter(): Router.Instance<Router.HTTPVersion.V1> {
  const router = Router({
    caseSensitive: true,
    // Collection names reach 120 characters, and a bad id gets its own error rather than a 404.
    maxParamLength: 4096,
    onBadUrl: () => {
      throw new DataError(
        400,
        DataErrorReason.InvalidRequest,
        "The path holds an invalid percent-encoding.",
      );
    },
  });
  // The router keeps our handlers; `handle` calls them with a RouteRequest of its own.
  const on = (method: (typeof METHODS)[number], path: string, route: RouteHandler) =>
    router.on(
      method,
      `${DATA_API_PREFIX}${path}`,
      route as unknown as Router.Handler<Router.HTTPVersion.V1>,
    );

  on("POST", "/transaction", ({ store, context }) => {
    if (context.transaction !== undefined) {
      throw new DataError(
        400,
        DataErrorReason.NestedTransaction,
        "Transactions cannot be nested: commit or abort this one first.",
      );
    }
    return store.startTransaction({ userId: context.userId });
  });
  on("POST", "/transaction/commit", ({ store, context }) => {
    store.commitTransaction(transactionToken(context));
    return {};
  });
  on("POST", "/transaction/abort", ({ store, context }) => {
    store.abortTransaction(transactionToken(context));
    return {};
  });
  on("GET", "/colls/:coll/docs", ({ store, params, outside }) =>
    store.listDocs(collection(params), outside),
  );
  // Lenra drops the `_id` a client sends: the database makes the id.
  on("POST", "/colls/:coll/docs", ({ store, params, context, body, replace }) =>
    store.createDoc(collection(params), withoutId(replace(objectBody(body))), context),
  );
  on("GET", "/colls/:coll/docs/:id", ({ store, params, outside }) =>
    store.getDoc(collection(params), documentId(params), outside),
  );
  // No upsert: a missing document is left missing and Lenra answers what was sent, under the
  // path's id, whatever `_id` the body had.
  on("PUT", "/colls/:coll/docs/:id", ({ store, params, context, body, replace }) => {
    const coll = collection(params);
    const docId = documentId(params);
    const doc = withoutId(replace(objectBody(body)));
    if (!store.getDoc(coll, docId, context)) return { ...doc, _id: docId };
    return store.replaceDoc(coll, docId, doc, context);
  });
  // Lenra answers `{}` whether there was a document or not.
  on("DELETE", "/colls/:coll/docs/:id", ({ store, params, context }) => {
    const coll = collection(params);
    const docId = documentId(params);
    if (store.getDoc(coll, docId, context)) store.deleteDoc(coll, docId, context);
    return {};
  });
  // Only the query has its references replaced; a find ignores a transaction.
  on("POST", "/colls/:coll/find", ({ store, params, outside, body, replace }) => {
    const { query, projection, options } = objectBody(body);
    return store.find(
      collection(params),
      {
        query: replace(query) as Record<string, unknown> | undefined,
        projection: projection as Record<string, unknown> | null | undefined,
        options: options as Record<string, unknown> | null | undefined,
      },
      outside,
    );
  });
  on("POST", "/colls/:coll/insertMany", ({ store, params, context, body, replace }) => {
    const { documents } = objectBody(body);
    if (!Array.isArray(documents)) {
      throw new DataError(400, DataErrorReason.InvalidRequest, "documents must be an array.");
    }
    const docs = documents.map((doc) => withoutId(replace(objectBody(doc))));
    return { insertedIds: store.insertMany(collection(params), docs, context) };
  });
  // Lenra replaces references in the filter only, runs the update outside any transaction and
  // answers the update it was given.
  on("POST", "/colls/:coll/updateMany", ({ store, params, outside, body, replace, warn }) => {
    const { filter, update } = objectBody(body);
    for (const reference of paramRefs(update)) {
      warn(
        `update:${reference}`,
        `An updateMany update holds "${reference}": Lenra replaces references in the filter only, so it stores the text "${reference}". The dev server does the same.`,
      );
    }
    store.updateMany(collection(params), replace(filter), update, outside);
    return update;
  });
  return router;
}

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

/** The path's collection; the store checks its name. */
function collection(params: RouteRequest["params"]): string {
  return params.coll ?? "";
}

/** A path's document id: an ObjectId, in the dev server's form or Lenra's `ObjectId(<hex>)`. */
function documentId(params: RouteRequest["params"]): string {
  const id = params.id ?? "";
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
