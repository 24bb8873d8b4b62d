import { createLenraClient, type LenraClient, type LenraClientOptions } from "@lenra/client";
import { type App, hasInjectionContext, type InjectionKey, inject } from "vue";

const LenraKey: InjectionKey<LenraClient> = Symbol("lenra");

/** What `createLenra` returns: a plugin for `app.use()` that also holds its client. */
export interface LenraPlugin {
  /** The client the composables use, also for code outside components (router guards). */
  readonly client: LenraClient;
  install(app: App): void;
}

/** Makes a client available to the Lenra composables of an app; options default to `{}`. */
export function createLenra(clientOrOptions: LenraClient | LenraClientOptions = {}): LenraPlugin {
  const client =
    typeof (clientOrOptions as Partial<LenraClient>).view === "function"
      ? (clientOrOptions as LenraClient)
      : createLenraClient(clientOrOptions as LenraClientOptions);
  return { client, install: (app) => void app.provide(LenraKey, client) };
}

/** The client installed with `app.use(createLenra(...))`; throws when there is none (no default). */
export function useLenraClient(): LenraClient {
  const client = hasInjectionContext() ? inject(LenraKey, null) : null;
  if (!client) {
    throw new Error(
      "useLenraClient: no Lenra client here. Install it with app.use(createLenra(...)) and call the composables from setup().",
    );
  }
  return client;
}
