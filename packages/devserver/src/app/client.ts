import { STATUS_CODES } from "node:http";
import { Pool } from "undici";
import { DevServerError } from "../shared/errors.ts";

/** Why a request to the app failed. */
export const AppRequestErrorReason = {
  /** Nothing answers at the app's URL (refused, reset, DNS). */
  Unreachable: "app_unreachable",
  /** The app took longer than the timeout to answer. */
  Timeout: "app_timeout",
  /** The app answered a non-2xx status; `message` is what it said. */
  Failed: "app_error",
  /** The app answered something that is not the JSON expected. */
  InvalidResponse: "app_invalid_response",
  /** The answer, or the request, is larger than allowed. */
  TooLarge: "app_payload_too_large",
} as const;

export type AppRequestErrorReason =
  (typeof AppRequestErrorReason)[keyof typeof AppRequestErrorReason];

/** A request to the app that did not succeed; `message` is fit for a client or a log. */
export class AppRequestError extends DevServerError<AppRequestErrorReason> {
  override name = "AppRequestError";
  /** The HTTP status the app answered, for {@link AppRequestErrorReason.Failed}. */
  readonly status: number | undefined;
  /**
   * What the app answered, as it said it, for {@link AppRequestErrorReason.Failed}
   * (`@lenra/app` answers a thrown error's message); absent for an HTML error page.
   */
  readonly body: string | undefined;

  constructor(
    reason: AppRequestErrorReason,
    message: string,
    options?: { status?: number; body?: string; cause?: unknown },
  ) {
    super(reason, message, options);
    this.status = options?.status;
    this.body = options?.body;
  }
}

export interface AppClientOptions {
  /** The app's base URL; the platform POSTs everything to it. */
  url: string;
  /** How long one request may take once sent. Defaults to 30 000 ms. */
  timeoutMs?: number | undefined;
  /** Largest answer read from the app. Defaults to 16 MiB. */
  maxResponseBytes?: number | undefined;
  /** Largest body sent to the app. Defaults to 16 MiB. */
  maxRequestBytes?: number | undefined;
  /** Requests in flight at once; more wait their turn. Defaults to 64. */
  maxConcurrency?: number | undefined;
}

/** The Lenra app HTTP contract, one method per kind of request (PROTOCOL.md §5). */
export interface AppClient {
  readonly url: string;
  /** `POST {}`: the manifest. */
  manifest(): Promise<unknown>;
  /** `POST { view, data, props, context }`: the view's JSON result. */
  view(request: {
    view: string;
    data: unknown[];
    props: unknown;
    context: unknown;
  }): Promise<unknown>;
  /** `POST { listener, props, event, api }`: runs a listener; resolves once it answered 2xx. */
  listener(request: {
    listener: string;
    props: unknown;
    event: unknown;
    api: { url: string; token: string };
  }): Promise<void>;
  /** Drops the connections to the app. */
  close(): Promise<void>;
}

/**
 * Talks to a Lenra app over HTTP through an undici pool: keep-alive connections, at most
 * `maxConcurrency` requests at once (the others queue), bounded bodies and a timeout, so a
 * slow, crashed or misbehaving app yields typed errors and never a hung or exhausted dev server.
 */
export function createAppClient(options: AppClientOptions): AppClient {
  const url = new URL(options.url);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`app: "${options.url}" is not an http(s) URL.`);
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  const maxRequestBytes = options.maxRequestBytes ?? 16 * 1024 * 1024;
  const base = url.href;
  const path = `${url.pathname}${url.search}`;
  const pool = new Pool(url.origin, {
    connections: options.maxConcurrency ?? 64,
    // The app computes its whole answer before its headers: waiting for them is the timeout.
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxResponseSize: maxResponseBytes,
    // Idle connections are dropped after 4 s, before Node's (and so express's) 5 s keep-alive
    // timeout on the app's side: reusing a connection the app is closing would fail a listener
    // call, and listener calls are never retried.
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 4_000,
  });

  async function post(body: unknown): Promise<{ status: number; text: string }> {
    const text = JSON.stringify(body);
    const length = Buffer.byteLength(text);
    if (length > maxRequestBytes) {
      throw new AppRequestError(
        AppRequestErrorReason.TooLarge,
        `The request to the app would be ${length} bytes, more than the ${maxRequestBytes} allowed.`,
      );
    }
    try {
      const response = await pool.request({
        path,
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: text,
      });
      return { status: response.statusCode, text: await response.body.text() };
    } catch (error) {
      throw requestError(error, base, timeoutMs, maxResponseBytes);
    }
  }

  async function postOk(body: unknown): Promise<string> {
    const { status, text } = await post(body);
    if (status >= 200 && status < 300) return text;
    // Express answers its own errors (a body over its limit...) with an HTML page and a stack,
    // while @lenra/app answers a thrown error's message as is.
    const message = /^\s*<(!doctype|html)/i.test(text) ? "" : text;
    throw new AppRequestError(AppRequestErrorReason.Failed, failureMessage(status, message), {
      status,
      ...(message === "" ? {} : { body: message }),
    });
  }

  async function postJson(body: unknown, what: string): Promise<unknown> {
    const text = await postOk(body);
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new AppRequestError(
        AppRequestErrorReason.InvalidResponse,
        `The app answered ${what} with something that is not JSON: ${preview(text)}`,
        { cause },
      );
    }
  }

  return {
    url: base,
    manifest: () => postJson({}, "the manifest request"),
    view: (request) => postJson(request, `the view "${request.view}"`),
    async listener(request) {
      await postOk(request);
    },
    async close() {
      await pool.destroy();
    },
  };
}

/** What became of a request undici could not complete. */
function requestError(
  error: unknown,
  base: string,
  timeoutMs: number,
  maxResponseBytes: number,
): AppRequestError {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new AppRequestError(
      AppRequestErrorReason.Timeout,
      `The app did not answer within ${timeoutMs} ms.`,
      { cause: error },
    );
  }
  if (code === "UND_ERR_RES_EXCEEDED_MAX_SIZE") {
    return new AppRequestError(
      AppRequestErrorReason.TooLarge,
      `The app's answer is larger than the ${maxResponseBytes} bytes allowed.`,
      { cause: error },
    );
  }
  return new AppRequestError(
    AppRequestErrorReason.Unreachable,
    `The app at ${base} cannot be reached (${message || code}). Is it running?`,
    { cause: error },
  );
}

/** What the app said, as `@lenra/app` answers errors: status 500 and the error's message as text. */
function failureMessage(status: number, text: string): string {
  const said = text.trim();
  if (said === "")
    return `The app answered HTTP ${status} ${STATUS_CODES[status] ?? ""}.`.replace(" .", ".");
  return said.length > 500 ? `${said.slice(0, 500)}…` : said;
}

function preview(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "") return "(empty)";
  return JSON.stringify(trimmed.length > 80 ? `${trimmed.slice(0, 80)}…` : trimmed);
}
