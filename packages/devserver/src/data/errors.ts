import { DevServerError } from "../shared/errors.ts";

/** The `reason` of every error the data store and the data API report. */
export const DataErrorReason = {
  /** No `Authorization: Bearer` header. */
  MissingToken: "missing_token",
  /** A bearer token the dev server did not issue, or one that was revoked. */
  InvalidToken: "invalid_token",
  /** A path under the data API prefix that names no route. */
  RouteNotFound: "route_not_found",
  /** A known path called with the wrong HTTP method. */
  MethodNotAllowed: "method_not_allowed",
  /** The body is not JSON. */
  InvalidJson: "invalid_json",
  /** The body is larger than the data API accepts. */
  BodyTooLarge: "body_too_large",
  /** The body is JSON but not the shape the route expects. */
  InvalidRequest: "invalid_request",
  /** A collection name that is empty, too long or has forbidden characters. */
  InvalidCollectionName: "invalid_collection_name",
  /** A document id that is not a non-empty string of reasonable length. */
  InvalidId: "invalid_id",
  /** A document id in a path that is not an ObjectId, as Lenra's data API says it. */
  NotAnObjectId: "not_an_object_id",
  /** A document that is not a JSON object, or nested too deeply. */
  InvalidDocument: "invalid_document",
  /** `__proto__`, `constructor` or `prototype` as a key or a path segment. */
  ForbiddenKey: "forbidden_key",
  /** A query or projection mingo refused. */
  InvalidQuery: "invalid_query",
  /** An update document or pipeline mingo refused, or one that changes `_id`. */
  InvalidUpdate: "invalid_update",
  /** No document with this id in this collection. */
  DocumentNotFound: "document_not_found",
  /** A document with this id already exists. */
  DuplicateId: "duplicate_id",
  /** A transaction token the store never issued. */
  UnknownTransaction: "unknown_transaction",
  /** A transaction already committed, aborted or expired. */
  TransactionEnded: "transaction_ended",
  /** A document the transaction wrote was changed by someone else after the transaction began. */
  TransactionConflict: "transaction_conflict",
  /** Starting a transaction with a transaction token. */
  NestedTransaction: "nested_transaction",
  /** Commit or abort called with a token that is not a transaction token. */
  NotATransaction: "not_a_transaction",
  /** The store was closed. */
  StoreClosed: "store_closed",
  /** A bug: the error was logged. */
  InternalError: "internal_error",
} as const;

export type DataErrorReason = (typeof DataErrorReason)[keyof typeof DataErrorReason];

/** The JSON body of every data API error. */
export interface DataErrorBody {
  message: string;
  reason: string;
}

/**
 * An expected failure of a data operation. `status` is the HTTP status the data API answers
 * with, so the store and the API agree on what each failure means.
 */
export class DataError extends DevServerError<DataErrorReason> {
  override name = "DataError";
  readonly status: number;

  constructor(status: number, reason: DataErrorReason, message: string, options?: ErrorOptions) {
    super(reason, message, options);
    this.status = status;
  }

  toJSON(): DataErrorBody {
    return { message: this.message, reason: this.reason };
  }
}

/** A data file that cannot be loaded. The file is never touched after this error. */
export class DataFileError extends DevServerError<"invalid_data_file"> {
  override name = "DataFileError";
  readonly file: string;

  constructor(file: string, problem: string, options?: ErrorOptions) {
    super(
      "invalid_data_file",
      `Cannot load the data file ${file}: ${problem}. Fix the file or move it away; the dev server left it untouched.`,
      options,
    );
    this.file = file;
  }
}
