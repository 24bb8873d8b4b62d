interface StoredCookie {
  name: string;
  value: string;
  host: string;
  path: string;
  /** Epoch milliseconds; `Infinity` for a session cookie. */
  expiresAt: number;
}

/**
 * A small cookie jar for Node tests that play a browser against the dev auth server: it keeps
 * host-only cookies with their path and expiry, which is all the server sets. Share one between
 * `completeDevLogin` and `devLogout` to keep the login session, as a browser would.
 */
export interface DevCookieJar {
  /** The `Cookie` header a browser would send to `url`, or `undefined` when none applies. */
  headerFor(url: URL): string | undefined;
  /** Takes in the `Set-Cookie` headers of a response to a request for `url`. */
  store(url: URL, response: Response): void;
  /** Forgets every cookie: the next login asks for a user name again. */
  clear(): void;
}

/** Creates an empty cookie jar. */
export function createDevCookieJar(): DevCookieJar {
  const cookies = new Map<string, StoredCookie>();
  const keyOf = (c: Pick<StoredCookie, "host" | "path" | "name">) =>
    `${c.host}\n${c.path}\n${c.name}`;

  return {
    headerFor(url) {
      const now = Date.now();
      const matching = [...cookies.values()]
        .filter((c) => {
          if (c.expiresAt <= now) {
            cookies.delete(keyOf(c));
            return false;
          }
          return c.host === url.host && pathMatches(url.pathname, c.path);
        })
        // Longer paths first, as browsers order them (RFC 6265 §5.4).
        .sort((a, b) => b.path.length - a.path.length);
      return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join("; ") : undefined;
    },
    store(url, response) {
      for (const header of response.headers.getSetCookie()) {
        const cookie = parseSetCookie(header, url);
        if (cookie === undefined) continue;
        if (cookie.expiresAt <= Date.now()) cookies.delete(keyOf(cookie));
        else cookies.set(keyOf(cookie), cookie);
      }
    },
    clear() {
      cookies.clear();
    },
  };
}

function parseSetCookie(header: string, url: URL): StoredCookie | undefined {
  const [pair = "", ...attributes] = header.split(";");
  const eq = pair.indexOf("=");
  if (eq <= 0) return undefined;
  const cookie: StoredCookie = {
    name: pair.slice(0, eq).trim(),
    value: pair.slice(eq + 1).trim(),
    host: url.host,
    path: defaultPath(url.pathname),
    expiresAt: Infinity,
  };
  let maxAge: number | undefined;
  for (const attribute of attributes) {
    const [rawName = "", ...rest] = attribute.split("=");
    const name = rawName.trim().toLowerCase();
    const value = rest.join("=").trim();
    if (name === "path" && value.startsWith("/")) cookie.path = value;
    else if (name === "expires") {
      const time = Date.parse(value);
      if (!Number.isNaN(time)) cookie.expiresAt = time;
    } else if (name === "max-age" && /^-?\d+$/.test(value)) maxAge = Number(value);
  }
  // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
  if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : Date.now() + maxAge * 1000;
  return cookie;
}

/** RFC 6265 §5.1.4: the directory of the request path. */
function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf("/");
  return slash <= 0 ? "/" : pathname.slice(0, slash);
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath.charAt(cookiePath.length) === "/";
}
