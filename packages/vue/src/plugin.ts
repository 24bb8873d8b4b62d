import { createLenraClient, type LenraClient, type LenraClientOptions } from "@lenra/client";
import { type App, hasInjectionContext, type InjectionKey, inject } from "vue";

const LenraKey: InjectionKey<LenraClient> = Symbol("lenra");

/** What {@link createLenra} returns: a plugin for `app.use()` that also holds its client. */
export interface LenraPlugin {
  /** The client the composables use, also for code outside components (router guards). */
  readonly client: LenraClient;
  install(app: App): void;
}

/**
 * Makes a client available to the Lenra composables of an app, given the client or the options
 * to create one.
 *
 * The plugin never disposes its client, which usually outlives the app: call
 * `client.dispose()` when the client's life ends (after a test, next to a micro-frontend's
 * `app.unmount()`, on hot module replacement).
 *
 * @param clientOrOptions - A client from `createLenraClient()`, or its options (defaults to
 *   `{}`: a guest client of the default socket endpoint).
 * @returns The plugin, whose `client` also serves code outside components (router guards).
 * @example
 * ```ts
 * const lenra = createLenraClient({ appName: "counter-app" });
 * import.meta.hot?.dispose(() => lenra.dispose());
 *
 * createApp(App).use(createLenra(lenra)).mount("#app");
 * ```
 * @see {@link createLenraClient} for the client's options.
 */
export function createLenra(clientOrOptions: LenraClient | LenraClientOptions = {}): LenraPlugin {
  const client =
    typeof (clientOrOptions as Partial<LenraClient>).view === "function"
      ? (clientOrOptions as LenraClient)
      : createLenraClient(clientOrOptions as LenraClientOptions);
  return { client, install: (app) => void app.provide(LenraKey, client) };
}

/**
 * The client installed with `app.use(createLenra(...))`; throws when there is none (no default).
 *
 * @example
 * ```vue
 * <script setup lang="ts">
 * const lenra = useLenraClient();
 * </script>
 *
 * <template>
 *   <button @click="lenra.connect()">Reconnect</button>
 * </template>
 * ```
 * @see {@link LenraClient} for what it offers.
 */
export function useLenraClient(): LenraClient {
  const client = hasInjectionContext() ? inject(LenraKey, null) : null;
  if (!client) {
    throw new Error(
      "useLenraClient: no Lenra client here. Install it with app.use(createLenra(...)) and call the composables from setup().",
    );
  }
  return client;
}
