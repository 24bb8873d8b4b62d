import type { RenderedTree } from "../app/listeners.ts";
import type { JsonRoute, Role } from "../app/manifest.ts";
import type { JsonObject, JsonValue } from "../shared/json.ts";
import type { SessionInfo } from "./backend.ts";

/**
 * What the platform (platform.ts) needs from the app it serves: its routes, its views and its
 * listeners. The platform owns everything Lenra does around an app (sessions, render groups,
 * listener codes, system listeners, live updates); an app only says what a route shows and
 * runs what a code stands for. Two apps answer: a `@lenra/app` app over HTTP (http-app.ts) and
 * the in-process test app (`testing/`).
 */
export interface ServedApp {
  /** The JSON routes a session with `roles` may see, as the `routes` topic lists them. */
  routes(roles: readonly Role[]): JsonRoute[];
  /** The Lenra-component routes `roles` may see: listed in `lenra` mode, never rendered. */
  lenraRoutes(roles: readonly Role[]): JsonValue[];
  /**
   * The view of the route `path` names for `session`, or `undefined` when no route it may see
   * matches. The platform opens one per render group (same path, user, roles and client
   * context) and closes it when the group's last session leaves.
   */
  openView(path: string, session: SessionInfo): RouteView | undefined;
  /** Runs a listener; rejects with why it failed (a `LenraBackendError` is sent as it is). */
  callListener(call: AppListenerCall): Promise<void>;
  /**
   * Calls `listener` after every change that can make a view stale: the views that
   * {@link RouteView.outdated | became outdated} render again. Returns the unsubscribe.
   */
  onChange(listener: () => void): () => void;
}

/** One route's view for one render group. */
export interface RouteView {
  /** Renders it with the data as it is now; rejects with why it failed. */
  render(): Promise<RenderedTree>;
  /**
   * True when a change since the last render started may have changed what it shows: on a
   * `@lenra/app` app, when a document its views' finds can see changed.
   */
  outdated(): boolean;
  /** The route is shown no more: release what its renders hold. */
  close(): void;
}

/** A listener the platform asks the app to run. */
export interface AppListenerCall {
  readonly name: string;
  readonly props: JsonObject | undefined;
  /** What the client sent, `undefined` when it sent nothing; `{}` for system listeners. */
  readonly event: unknown;
  /** The user it runs for: `undefined` for a guest and for `onEnvStart`. */
  readonly userId: string | undefined;
  /** The session and the route whose channel ran it; absent for the system listeners. */
  readonly from?: { readonly session: SessionInfo; readonly route: string } | undefined;
}
