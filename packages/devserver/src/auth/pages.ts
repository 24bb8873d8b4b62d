/**
 * The few HTML pages a person sees on the dev auth server. Every interpolated value goes through
 * `escapeHtml`; scripts and styles carry the response's CSP nonce so nothing else can run.
 */

import { randomBytes } from "node:crypto";

/** The part of a Koa context a page needs. */
interface PageResponse {
  set(field: string, value: string): void;
  type: string;
}

/** Sets the security headers every HTML page of the server gets, and returns its CSP nonce. */
export function preparePage(ctx: PageResponse): string {
  const nonce = randomBytes(16).toString("base64");
  ctx.set(
    "Content-Security-Policy",
    `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; base-uri 'none'; frame-ancestors 'none'`,
  );
  ctx.set("Cache-Control", "no-store");
  ctx.set("X-Content-Type-Options", "nosniff");
  ctx.set("Referrer-Policy", "no-referrer");
  ctx.type = "html";
  return nonce;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/**
 * User names the dev login accepts: 1 to 64 characters, letters, digits, `.`, `_`, `-` and `@`,
 * starting with a letter or a digit (so an e-mail address works, and a name can never be read
 * as the `@me` placeholder Lenra replaces in queries).
 */
export const DEV_USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** The same rule for the `pattern` attribute, which browsers compile with the `v` flag. */
const USERNAME_HTML_PATTERN = "[A-Za-z0-9][A-Za-z0-9._@\\-]{0,63}";

const USERNAME_RULE =
  "1 to 64 characters: letters, digits, dots, dashes, underscores or @, starting with a letter or a digit.";

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; }
main { max-width: 26rem; padding: 2rem; }
h1 { font-size: 1.4rem; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input[type=text] { box-sizing: border-box; width: 100%; font: inherit; padding: .5rem; }
.hint { font-size: .9rem; opacity: .8; }
.error { color: #b00020; font-weight: 600; }
@media (prefers-color-scheme: dark) { .error { color: #ff8a80; } }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: 1rem; }
button { font: inherit; padding: .5rem 1rem; }
code { overflow-wrap: anywhere; }
`;

function layout(title: string, nonce: string, body: string, script = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Lenra dev auth server</title>
<style nonce="${escapeHtml(nonce)}">${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
${script ? `<script nonce="${escapeHtml(nonce)}">${script}</script>` : ""}
</body>
</html>
`;
}

export interface LoginPageInput {
  nonce: string;
  /** Where the form posts: the interaction's own URL, so the form is bound to it. */
  action: string;
  csrf: string;
  clientId: string;
  scopes: readonly string[];
  /** What the person typed last time, shown back (escaped) with the error. */
  username?: string;
  error?: string;
}

/** The dev login form: a user name, no password. */
export function renderLoginPage(input: LoginPageInput): string {
  const { error } = input;
  const describedBy = error ? "username-error username-hint" : "username-hint";
  const scopes = input.scopes.length ? input.scopes.join(" ") : "(none)";
  const body = `<h1>Sign in</h1>
<p>Development server: there is no password. The user name you type becomes your user id.</p>
<p class="hint">Application <code>${escapeHtml(input.clientId)}</code> asks for <code>${escapeHtml(scopes)}</code>; it is granted automatically.</p>
<form method="post" action="${escapeHtml(input.action)}" autocomplete="off">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
${error ? `<p id="username-error" class="error" role="alert">${escapeHtml(error)}</p>` : ""}
<label for="username">User name</label>
<input id="username" name="username" type="text" required autofocus maxlength="64"
 pattern="${escapeHtml(USERNAME_HTML_PATTERN)}" autocapitalize="none" spellcheck="false"
 aria-describedby="${describedBy}"${error ? ' aria-invalid="true"' : ""} value="${escapeHtml(input.username ?? "")}">
<p id="username-hint" class="hint">${escapeHtml(USERNAME_RULE)}</p>
<div class="actions">
<button type="submit" name="action" value="login">Sign in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</div>
</form>`;
  return layout("Sign in", input.nonce, body);
}

/**
 * Shown when the app asks for an account choice (`prompt=select_account`) and someone is signed
 * in on this browser: continue as that user, or type another name (the form, on the same
 * interaction). `data-account` names the user for test helpers; the server never reads it back.
 */
export function renderChooserPage(
  input: Omit<LoginPageInput, "username" | "error"> & { accountId: string },
): string {
  const scopes = input.scopes.length ? input.scopes.join(" ") : "(none)";
  const body = `<h1>Sign in</h1>
<p>You are signed in on this browser as <b>${escapeHtml(input.accountId)}</b>.</p>
<p class="hint">Application <code>${escapeHtml(input.clientId)}</code> asks for <code>${escapeHtml(scopes)}</code>; it is granted automatically.</p>
<form method="post" action="${escapeHtml(input.action)}" data-account="${escapeHtml(input.accountId)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<div class="actions">
<button type="submit" name="action" value="continue" autofocus>Continue as ${escapeHtml(input.accountId)}</button>
<button type="submit" name="action" value="another">Use another name</button>
<button type="submit" name="action" value="cancel">Cancel</button>
</div>
</form>`;
  return layout("Sign in", input.nonce, body);
}

/** A page that explains what went wrong and what to do; every field is escaped. */
export function renderErrorPage(input: {
  nonce: string;
  title: string;
  message: string;
  details?: Readonly<Record<string, unknown>>;
}): string {
  const details = Object.entries(input.details ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd><code>${escapeHtml(value)}</code></dd>`)
    .join("\n");
  const body = `<h1>${escapeHtml(input.title)}</h1>
<p role="alert">${escapeHtml(input.message)}</p>
${details ? `<dl>${details}</dl>` : ""}`;
  return layout(input.title, input.nonce, body);
}

/**
 * The logout confirmation, confirmed by itself: Hydra's dev setups skip the logout prompt, and
 * a person who clicked "log out" in the app has already said so. Without JavaScript the button
 * does the same. `form` is the provider's own form, bound to the session by its `xsrf` field.
 */
export function renderLogoutPage(input: { nonce: string; form: string; formId: string }): string {
  const body = `<h1>Signing out…</h1>
${input.form}
<div class="actions">
<button type="submit" form="${escapeHtml(input.formId)}" name="logout" value="yes" autofocus>Sign out</button>
</div>`;
  // Submitting through the button adds its `logout=yes`, which ends the whole session.
  const script = `document.querySelector('button[name="logout"]').click();`;
  return layout("Signing out", input.nonce, body, script);
}

/** Shown after a logout that has no `post_logout_redirect_uri` to return to. */
export function renderLoggedOutPage(input: { nonce: string; clientId?: string }): string {
  const body = `<h1>Signed out</h1>
<p>You are signed out of the Lenra dev auth server${input.clientId ? ` and of <code>${escapeHtml(input.clientId)}</code>` : ""}. You can close this page.</p>`;
  return layout("Signed out", input.nonce, body);
}
