import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type Provider from "oidc-provider";
import type { Interaction } from "oidc-provider";
import getRawBody from "raw-body";
import type { Log } from "../shared/log.ts";
import {
  DEV_USERNAME_PATTERN,
  preparePage,
  renderChooserPage,
  renderErrorPage,
  renderLoginPage,
} from "./pages.ts";

/** Where the provider sends the browser for a person to act: `/interaction/<uid>`. */
export const INTERACTION_PREFIX = "/interaction/";

/** A login form is a few hundred bytes; anything much bigger is not one. */
const MAX_FORM_BYTES = 8 * 1024;

type Middleware = Parameters<Provider["use"]>[0];
type Ctx = Parameters<Middleware>[0];
type InteractionPolicy = typeof import("oidc-provider").interactionPolicy;

/**
 * oidc-provider's prompts (`login`, then `consent`) with `select_account` between them, so an
 * app may ask for it (`prompt=select_account`): with a session, the dev login page then offers
 * "Continue as <name>" or "Use another name"; without one, `login` comes first and shows the
 * form. `prompt=login` always shows the form and `prompt=none` never shows a page (an error
 * such as `login_required` goes back to the app instead), both handled by oidc-provider.
 */
export function devInteractionPolicy({ base, Prompt }: InteractionPolicy) {
  const policy = base();
  policy.add(new Prompt({ name: "select_account", requestable: true }), 1);
  return policy;
}

/**
 * Serves the dev login: `GET /interaction/<uid>` shows the form, `POST` signs in with the user
 * name as account id and grants the requested scopes at once (consent is implicit in dev).
 *
 * The form is bound to its interaction twice: the provider's interaction cookie (SameSite=Lax,
 * so a cross-site POST arrives without it) must name this very uid, and the hidden `csrf` field
 * must be this server's HMAC of the uid.
 */
export function devInteractions(
  provider: Provider,
  supportedScopes: ReadonlySet<string>,
  csrfKey: Buffer,
  log: Log,
): Middleware {
  /** The scopes asked for that the server knows; the provider ignores the others. */
  const requestedScopes = (interaction: Interaction): string[] => {
    const scope = interaction.params.scope;
    if (typeof scope !== "string") return [];
    return [...new Set(scope.split(" "))].filter((name) => supportedScopes.has(name));
  };

  const csrfFor = (uid: string) => createHmac("sha256", csrfKey).update(uid).digest("base64url");
  const csrfMatches = (uid: string, given: string | null) => {
    if (given === null) return false;
    const expected = Buffer.from(csrfFor(uid));
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  };

  const fail = (ctx: Ctx, status: number, title: string, message: string) => {
    const nonce = preparePage(ctx);
    ctx.status = status;
    ctx.body = renderErrorPage({ nonce, title, message });
  };

  const pageOf = (ctx: Ctx, interaction: Interaction) => ({
    nonce: preparePage(ctx),
    action: `${INTERACTION_PREFIX}${interaction.uid}`,
    csrf: csrfFor(interaction.uid),
    clientId: String(interaction.params.client_id ?? ""),
    scopes: requestedScopes(interaction),
  });

  /** The form, with the name typed last time or else the app's `login_hint` when it is a valid name. */
  const showLogin = (
    ctx: Ctx,
    interaction: Interaction,
    extra: { username?: string; error?: string } = {},
  ) => {
    const hint = interaction.params.login_hint;
    const hinted = typeof hint === "string" && DEV_USERNAME_PATTERN.test(hint) ? hint : undefined;
    ctx.body = renderLoginPage({
      ...pageOf(ctx, interaction),
      username: hinted,
      ...extra,
    });
  };

  /** The user signed in on this browser, when there is one. */
  const signedIn = (interaction: Interaction) => {
    const accountId = interaction.session?.accountId;
    return typeof accountId === "string" && DEV_USERNAME_PATTERN.test(accountId)
      ? accountId
      : undefined;
  };

  const finish = async (ctx: Ctx, result: Parameters<Provider["interactionResult"]>[2]) => {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };

  /** Gives the client every scope it asked for, on the interaction's grant or a new one. */
  const grantRequested = async (interaction: Interaction, accountId: string) => {
    const clientId = String(interaction.params.client_id);
    const existing =
      interaction.grantId === undefined
        ? undefined
        : await provider.Grant.find(interaction.grantId);
    const grant =
      existing !== undefined && existing.accountId === accountId && existing.clientId === clientId
        ? existing
        : new provider.Grant({ accountId, clientId });
    const scopes = requestedScopes(interaction);
    if (scopes.length) grant.addOIDCScope(scopes.join(" "));
    const claims = interaction.prompt.details.missingOIDCClaims;
    if (Array.isArray(claims) && claims.length) grant.addOIDCClaims(claims.map(String));
    return grant.save();
  };

  return async (ctx, next) => {
    if (!ctx.path.startsWith(INTERACTION_PREFIX)) return next();
    const uid = ctx.path.slice(INTERACTION_PREFIX.length);
    if (!/^[\w-]{1,64}$/.test(uid) || (ctx.method !== "GET" && ctx.method !== "POST")) {
      return fail(ctx, 404, "Not found", "There is no page here.");
    }

    let interaction: Interaction;
    try {
      interaction = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      return fail(
        ctx,
        400,
        "Sign-in expired",
        "This sign-in page is no longer valid (it expired, was already used, or was opened in another browser). Go back to the application and sign in again.",
      );
    }
    if (interaction.uid !== uid) {
      return fail(
        ctx,
        400,
        "Sign-in mismatch",
        "This page belongs to another sign-in attempt. Go back to the application and sign in again.",
      );
    }

    try {
      const prompt = interaction.prompt.name;
      const current = signedIn(interaction);
      if (ctx.method === "GET") {
        if (prompt === "login") return showLogin(ctx, interaction);
        if (prompt === "select_account" && current !== undefined) {
          ctx.body = renderChooserPage({ ...pageOf(ctx, interaction), accountId: current });
          return;
        }
        if (prompt === "consent" && current !== undefined) {
          const grantId = await grantRequested(interaction, current);
          return await finish(ctx, { consent: { grantId } });
        }
        return fail(ctx, 400, "Unsupported request", "The dev server cannot handle this step.");
      }

      const form = await readForm(ctx.req);
      if (form === undefined) {
        return fail(ctx, 400, "Bad request", "Expected a submitted form.");
      }
      if (!csrfMatches(uid, form.get("csrf"))) {
        return fail(
          ctx,
          403,
          "Sign-in refused",
          "The form did not come from this sign-in page. Go back to the application and sign in again.",
        );
      }
      if (form.get("action") === "cancel") {
        log.debug("auth: sign-in cancelled", { clientId: interaction.params.client_id });
        return await finish(ctx, {
          error: "access_denied",
          error_description: "End-User aborted interaction",
        });
      }
      const action = form.get("action");
      if (prompt === "select_account" && current !== undefined && action === "continue") {
        const grantId = await grantRequested(interaction, current);
        log.debug("auth: continued as the signed-in user", {
          userId: current,
          clientId: interaction.params.client_id,
        });
        return await finish(ctx, { select_account: {}, consent: { grantId } });
      }
      if (prompt === "select_account" && action === "another") return showLogin(ctx, interaction);
      if (prompt !== "login" && prompt !== "select_account") {
        return fail(ctx, 400, "Unsupported request", "This sign-in step needs no form.");
      }
      const username = form.get("username")?.trim() ?? "";
      if (!DEV_USERNAME_PATTERN.test(username)) {
        ctx.status = 400;
        return showLogin(ctx, interaction, {
          username: username.slice(0, 200),
          error:
            username === ""
              ? "Type a user name."
              : `“${username.slice(0, 200)}” is not a valid user name: see the rule below the field.`,
        });
      }
      const grantId = await grantRequested(interaction, username);
      log.debug("auth: signed in", { userId: username, clientId: interaction.params.client_id });
      // A name typed on the form answers a requested account choice too.
      return await finish(ctx, {
        login: { accountId: username },
        select_account: {},
        consent: { grantId },
      });
    } catch (error) {
      log.error("auth: the dev login failed", {
        error: error instanceof Error ? error.message : String(error),
      });
      return fail(ctx, 500, "Sign-in failed", "Something went wrong on the dev auth server.");
    }
  };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const type = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") return undefined;
  try {
    const text = await getRawBody(req, {
      length: req.headers["content-length"],
      limit: MAX_FORM_BYTES,
      encoding: "utf8",
    });
    return new URLSearchParams(text);
  } catch {
    return undefined;
  }
}
