import { randomBytes } from "node:crypto";
import type { AppClient } from "../app/client.ts";
import { ListenerCodec, type RenderedTree } from "../app/listeners.ts";
import type { JsonRoute, Manifest, Role } from "../app/manifest.ts";
import {
  createRenderScope,
  RenderLease,
  ViewRenderError,
  ViewRenderer,
} from "../app/view-renderer.ts";
import type { DataApiTokenInfo } from "../data/api.ts";
import type { DataStore } from "../data/store.ts";
import { isPlainObject, type JsonValue } from "../shared/json.ts";
import { createLog, createNotice, type DevServerLogger } from "../shared/log.ts";
import type { SessionInfo } from "./backend.ts";
import { matchRoutePath } from "./route-path.ts";
import type { AppListenerCall, RouteView, ServedApp } from "./served-app.ts";

export interface HttpAppOptions {
  /** The app's HTTP client. */
  client: AppClient;
  manifest: Manifest;
  /** The data views read and listeners change through the data API. */
  store: DataStore;
  /** How deep views may nest. Defaults to 16. */
  maxViewDepth?: number | undefined;
  /** Makes listener codes. Defaults to a codec with a random key (one per dev server run). */
  codec?: ListenerCodec | undefined;
  logger?: DevServerLogger | undefined;
}

/**
 * A `@lenra/app` app over HTTP, as Lenra serves it: the manifest's routes by role, matched as
 * Lenra matches paths; views rendered from the data store (see {@link ViewRenderer}); listeners
 * called with a data API token made for the call and revoked once it answered.
 *
 * @see PROTOCOL.md §5
 */
export class HttpApp implements ServedApp {
  readonly #client: AppClient;
  readonly #manifest: Manifest;
  readonly #store: DataStore;
  readonly #renderer: ViewRenderer;
  readonly #codec: ListenerCodec;
  readonly #tokens = new Map<string, DataApiTokenInfo>();
  #apiUrl: string | undefined;

  constructor(options: HttpAppOptions) {
    this.#client = options.client;
    this.#manifest = options.manifest;
    this.#store = options.store;
    this.#codec = options.codec ?? new ListenerCodec();
    this.#renderer = new ViewRenderer({
      app: options.client,
      store: options.store,
      codec: this.#codec,
      maxDepth: options.maxViewDepth,
      notice: createNotice(createLog(options.logger)),
    });
  }

  /** Sets the base URL the app's listeners call the data API at; listeners fail until then. */
  start(apiUrl: string): void {
    this.#apiUrl = apiUrl.replace(/\/+$/, "");
  }

  /** What a data API bearer token stands for: a listener call's user, or the environment. */
  resolveDataApiToken(token: string): DataApiTokenInfo | undefined {
    return this.#tokens.get(token);
  }

  /** Views the app was asked to render, renders served from another route's, views cached. */
  stats(): { viewRenders: number; sharedRenders: number; cachedViews: number } {
    const { appRenders, shared, cached } = this.#renderer.stats();
    return { viewRenders: appRenders, sharedRenders: shared, cachedViews: cached };
  }

  routes(roles: readonly Role[]): JsonRoute[] {
    return this.#manifest.routes
      .filter((route) => allows(route.roles, roles))
      .map((route) => route.declared);
  }

  lenraRoutes(roles: readonly Role[]): JsonValue[] {
    return this.#manifest.lenraRoutes
      .filter((route) => allows(route.roles, roles))
      .map((route) => route.declared);
  }

  /** The first route `roles` may see that matches `path`, in manifest order, as Lenra picks it. */
  openView(path: string, { identity, context }: SessionInfo): RouteView | undefined {
    for (const route of this.#manifest.routes) {
      if (!allows(route.roles, identity.roles)) continue;
      const pathParams = matchRoutePath(route.path, path);
      if (!pathParams) continue;
      const scope = createRenderScope(identity.userId, identity.roles, pathParams, context);
      const renderer = this.#renderer;
      const codec = this.#codec;
      // The views a render used stay cached for as long as the route shows them; those of a
      // render in flight are held too.
      let lease = new RenderLease();
      let pending: RenderLease | undefined;
      let closed = false;
      return {
        async render(): Promise<RenderedTree> {
          const next = new RenderLease();
          pending = next;
          try {
            const document = await renderer.render(route.view, scope, next);
            if (!isPlainObject(document)) {
              throw new ViewRenderError(
                `The view "${route.view.name}" of route ${route.path} must return a JSON object, not ${describeJson(document)}.`,
                { view: route.view.name },
              );
            }
            return codec.tree(document);
          } finally {
            pending = undefined;
            renderer.release(lease);
            lease = next;
            if (closed) renderer.release(next);
          }
        },
        outdated: () =>
          renderer.outdated(lease) || (pending !== undefined && renderer.outdated(pending)),
        close() {
          closed = true;
          renderer.release(lease);
        },
      };
    }
    return undefined;
  }

  /**
   * Calls a listener of the app with a data API token made for this call and revoked once it
   * answered, as Lenra's event handler does; rejects with `AppRequestError`.
   */
  async callListener({ name, props, event, userId }: AppListenerCall): Promise<void> {
    const url = this.#apiUrl;
    if (url === undefined) throw new Error("start() must be called before listeners run.");
    const token = `lda_${randomBytes(24).toString("base64url")}`;
    this.#tokens.set(token, { userId });
    try {
      await this.#client.listener({
        listener: name,
        props: props ?? {},
        // A run without an event gets `{}`, as Lenra's channel gives it.
        event: event === undefined ? {} : event,
        api: { url, token },
      });
    } finally {
      this.#tokens.delete(token);
    }
  }

  onChange(listener: () => void): () => void {
    return this.#store.onChange(({ documents }) => {
      // Stale views first, so the renders the listener schedules ask the app again.
      this.#renderer.dataChanged(documents);
      listener();
    });
  }
}

function allows(routeRoles: readonly Role[], roles: readonly Role[]): boolean {
  return routeRoles.some((role) => roles.includes(role));
}

function describeJson(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
