import { CookieJar } from "tough-cookie";
import { DevServerError } from "../shared/errors.ts";

/** A browser never follows more redirects than this in one login; neither do we. */
const MAX_STEPS = 20;

/**
 * Options of {@link completeDevLogin}.
 *
 * @example
 * ```ts
 * const cookies = new CookieJar(); // from tough-cookie: the same browser for later steps
 * await completeDevLogin({ authorizationUrl, username: "alice", cookies });
 * ```
 */
export interface CompleteDevLoginOptions {
  /** The full authorization URL a client would send the browser to (`<issuer>/oauth2/auth?…`). */
  authorizationUrl: string | URL;
  /**
   * The user name to type on the dev login page; it becomes the user id. When the page offers to
   * continue as the user signed in on this browser (`prompt=select_account`), the helper
   * continues if that user is `username`, and else picks "Use another name" and types it.
   */
  username: string;
  /** The fetch to use. Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Cookies kept between calls, as a browser keeps them: pass the same `tough-cookie` jar to a
   * later `completeDevLogin` (single sign-on, no form) or to `devLogout`. Defaults to a new jar.
   */
  cookies?: CookieJar;
}

/**
 * Options of {@link devLogout}.
 *
 * @example
 * ```ts
 * await devLogout({ logoutUrl: `${auth.endpoints.endSession}?id_token_hint=${idToken}`, cookies });
 * ```
 */
export interface DevLogoutOptions {
  /** The end-session URL a client would send the browser to (`<issuer>/oauth2/sessions/logout?…`). */
  logoutUrl: string | URL;
  /** The `tough-cookie` jar holding the login session (the one given to `completeDevLogin`). */
  cookies: CookieJar;
  /** The fetch to use. Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/**
 * Thrown when the dev auth server answers a helper with something other than the next step;
 * `reason` is `unexpected_page` (the message quotes what the page said) or `too_many_steps`.
 *
 * @example
 * ```ts
 * await completeDevLogin({ authorizationUrl, username: "not valid!" }).catch((error) => {
 *   if (error instanceof DevLoginError) console.log(error.status, error.message); // 400, why
 * });
 * ```
 */
export class DevLoginError extends DevServerError<"unexpected_page" | "too_many_steps"> {
  override name = "DevLoginError";
  /** The HTTP status of the unexpected answer; 0 for `too_many_steps`. */
  readonly status: number;

  constructor(reason: "unexpected_page" | "too_many_steps", message: string, status = 0) {
    super(reason, message);
    this.status = status;
  }
}

/**
 * Plays a browser through the dev login, for Node tests of a client library: follows the
 * authorization URL's redirects with a cookie jar, posts the login form with `username`, and
 * resolves with the URL the server finally redirects to (`<redirect_uri>?code=…&state=…`, or
 * `?error=…`, such as `login_required` for `prompt=none` without a session) without requesting
 * it. When the jar already holds a session, no form is posted, unless the app asked for one
 * (`prompt=login`); with `prompt=select_account` the helper answers the account choice for
 * `username`. Rejects with a {@link DevLoginError} when a page is not the next step.
 *
 * @example
 * ```ts
 * let authorizationUrl = "";
 * await client.auth.login({ openUrl: (url) => void (authorizationUrl = url) });
 * const callbackUrl = await completeDevLogin({ authorizationUrl, username: "alice" });
 * await client.auth.handleRedirectCallback(callbackUrl); // alice is logged in
 * ```
 */
export async function completeDevLogin(options: CompleteDevLoginOptions): Promise<string> {
  const { username } = options;
  if (typeof username !== "string") throw new TypeError("username: expected a string.");
  const browser = new Browser(options.fetch ?? fetch, options.cookies ?? new CookieJar());
  const start = toUrl(options.authorizationUrl, "authorizationUrl");

  let request: PendingRequest = { url: start };
  let submitted = false;
  let chosen = false;
  for (let step = 0; step < MAX_STEPS; step++) {
    const answer = await browser.send(request);
    if (answer.kind === "redirect") {
      if (answer.location.origin !== start.origin) return answer.location.href;
      request = { url: answer.location };
      continue;
    }
    // The account choice names the signed-in user in its form's data-account.
    const chooser = findForm(answer.html, "csrf");
    const signedIn = chooser?.attributes["data-account"];
    if (answer.status === 200 && chooser !== undefined && signedIn !== undefined && !chosen) {
      chosen = true;
      const body = new URLSearchParams(chooser.fields);
      body.set("action", signedIn === username ? "continue" : "another");
      request = { url: new URL(chooser.action, answer.url), body };
      continue;
    }
    // Another user signing in ends the previous one's session first: the provider answers a
    // form that the browser submits by script, to its logout confirmation and back.
    const switching = findForm(answer.html, "xsrf");
    if (answer.status === 200 && switching !== undefined && submitted) {
      request = {
        url: new URL(switching.action, answer.url),
        body: new URLSearchParams(switching.fields),
      };
      continue;
    }
    const form = findForm(answer.html, "username");
    if (answer.status === 200 && form !== undefined && !submitted) {
      submitted = true;
      const body = new URLSearchParams(form.fields);
      body.set("username", username);
      body.set("action", "login");
      request = { url: new URL(form.action, answer.url), body };
      continue;
    }
    throw pageError("dev login", answer);
  }
  throw new DevLoginError("too_many_steps", `dev login: more than ${MAX_STEPS} steps, giving up.`);
}

/**
 * Plays a browser through logout: opens the end-session URL, confirms as the dev page does by
 * itself, and resolves with where the server sends the browser afterwards (the
 * `post_logout_redirect_uri`, not requested, or the server's "signed out" page).
 *
 * @example
 * ```ts
 * const cookies = new CookieJar();
 * await completeDevLogin({ authorizationUrl, username: "alice", cookies });
 * await devLogout({ logoutUrl, cookies }); // the next login shows the form again
 * ```
 */
export async function devLogout(options: DevLogoutOptions): Promise<string> {
  const browser = new Browser(options.fetch ?? fetch, options.cookies);
  const start = toUrl(options.logoutUrl, "logoutUrl");

  let request: PendingRequest = { url: start };
  let confirmed = false;
  for (let step = 0; step < MAX_STEPS; step++) {
    const answer = await browser.send(request);
    if (answer.kind === "redirect") {
      if (answer.location.origin !== start.origin) return answer.location.href;
      request = { url: answer.location };
      continue;
    }
    const form = findForm(answer.html, "xsrf");
    if (answer.status === 200 && form !== undefined && !confirmed) {
      confirmed = true;
      const body = new URLSearchParams(form.fields);
      body.set("logout", "yes");
      request = { url: new URL(form.action, answer.url), body };
      continue;
    }
    if (answer.status === 200 && confirmed) return answer.url.href;
    throw pageError("dev logout", answer);
  }
  throw new DevLoginError("too_many_steps", `dev logout: more than ${MAX_STEPS} steps, giving up.`);
}

interface PendingRequest {
  url: URL;
  /** A form to POST; a GET without it. */
  body?: URLSearchParams;
}

type Answer =
  | { kind: "redirect"; location: URL }
  | { kind: "page"; url: URL; status: number; html: string };

/** Sends requests as a browser would: its cookie jar, no redirect followed by itself. */
class Browser {
  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly jar: CookieJar,
  ) {}

  async send({ url, body }: PendingRequest): Promise<Answer> {
    const headers = new Headers({ Accept: "text/html" });
    const cookie = this.jar.getCookieStringSync(url);
    if (cookie) headers.set("Cookie", cookie);
    if (body) headers.set("Content-Type", "application/x-www-form-urlencoded");
    const response = await this.fetchImpl(url, {
      method: body ? "POST" : "GET",
      headers,
      body: body?.toString(),
      redirect: "manual",
    });
    for (const setCookie of response.headers.getSetCookie()) {
      this.jar.setCookieSync(setCookie, url, { ignoreError: true });
    }
    const location = response.headers.get("Location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      return { kind: "redirect", location: new URL(location, url) };
    }
    return { kind: "page", url, status: response.status, html: await response.text() };
  }
}

interface FoundForm {
  action: string;
  fields: Record<string, string>;
  /** The form tag's own attributes, unescaped. */
  attributes: Record<string, string>;
}

/** Finds the form holding an input named `inputName`, with its hidden fields. */
function findForm(html: string, inputName: string): FoundForm | undefined {
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = parseAttributes(match[1] ?? "");
    const inputs = [...(match[2] ?? "").matchAll(/<input\b([^>]*)>/gi)].map((input) =>
      parseAttributes(input[1] ?? ""),
    );
    if (!inputs.some((input) => input.name === inputName)) continue;
    const fields: Record<string, string> = {};
    for (const input of inputs) {
      if (input.type === "hidden" && input.name !== undefined) {
        fields[input.name] = input.value ?? "";
      }
    }
    return { action: attributes.action ?? "", fields, attributes };
  }
  return undefined;
}

function parseAttributes(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [, name, value] of source.matchAll(/([\w-]+)\s*=\s*"([^"]*)"/g)) {
    if (name !== undefined) attributes[name.toLowerCase()] = unescapeHtml(value ?? "");
  }
  return attributes;
}

function unescapeHtml(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, entity: string) => {
    switch (entity) {
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "quot":
        return '"';
      default:
        return "'";
    }
  });
}

/** An error naming what the page said (its alert, or its title) so a failing test explains itself. */
function pageError(what: string, answer: Extract<Answer, { kind: "page" }>): DevLoginError {
  const text = (pattern: RegExp) => {
    const found = pattern.exec(answer.html)?.[1];
    return found === undefined ? undefined : unescapeHtml(found.replace(/<[^>]*>/g, "").trim());
  };
  const said =
    [text(/role="alert"[^>]*>([\s\S]*?)<\/p>/i), text(/<dl>([\s\S]*?)<\/dl>/i)]
      .filter(Boolean)
      .join(" ") ||
    text(/<title>([\s\S]*?)<\/title>/i) ||
    "no explanation";
  return new DevLoginError(
    "unexpected_page",
    `${what}: unexpected HTTP ${answer.status} from ${answer.url.pathname}: ${said}`,
    answer.status,
  );
}

function toUrl(value: string | URL, name: string): URL {
  const url = value instanceof URL ? value : URL.parse(String(value));
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new TypeError(`${name}: expected an absolute http(s) URL.`);
  }
  return url;
}
