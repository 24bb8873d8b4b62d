import type { Api } from "@lenra/app";
import { Counter } from "../classes/Counter.ts";

type Props = Record<string, unknown> | undefined;

/** Runs when the app's environment starts: the shared counter must exist before anyone joins. */
export async function onEnvStart(_props: Props, _event: unknown, api: Api): Promise<void> {
  await ensureCounter(api, "global");
}

/** Runs once per user, the first time they open the app. */
export async function onUserFirstJoin(_props: Props, _event: unknown, api: Api): Promise<void> {
  await ensureCounter(api, "@me");
}

/**
 * Runs for every socket. Lenra refuses the socket when an app lacks it (`@lenra/app` answers 500
 * for a missing listener), so even an app with nothing to do here defines it.
 */
export async function onSessionStart(_props: Props, _event: unknown, _api: Api): Promise<void> {}

async function ensureCounter(api: Api, user: string): Promise<void> {
  const counters = api.data.coll(Counter);
  // The platform may call these listeners again (a restart with kept data): never duplicate.
  const existing = await counters.find({ user });
  if (existing.length === 0) await counters.createDoc(new Counter(user, 0));
}
