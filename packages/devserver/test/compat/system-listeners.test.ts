import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insecureTestToken } from "../../src/testing.ts";
import { waitFor } from "../helpers.ts";
import {
  type Compat,
  guestSocket,
  open,
  socketStatus,
  startCompat,
  uniqueUser,
  userSocket,
} from "./support.ts";

const STOP_LISTENERS = ["onSessionStop", "onEnvStop", "onUserLeave"];

function disconnect(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.disconnect(() => resolve()));
}

describe("an app with every system listener", () => {
  let compat: Compat;

  beforeAll(async () => {
    compat = await startCompat();
  });

  afterAll(() => compat?.close());

  /** Waits until no session is left: the environment has stopped, as Lenra stops it. */
  const noSession = () => waitFor(() => compat.server.stats().sessions === 0, 15_000, "no session");

  it("runs onEnvStart with the first session, onUserFirstJoin for a new user, onSessionStart per socket, and never a stop listener", async () => {
    expect(compat.calls()).toEqual([]);
    const alice = uniqueUser("alice");
    const first = userSocket(compat, alice);
    await open(first, "/home");
    expect(compat.calls()).toEqual([
      { listener: "onEnvStart", me: null },
      { listener: "onUserFirstJoin", me: alice },
      { listener: "onSessionStart", me: alice },
    ]);
    const second = userSocket(compat, alice);
    const guest = guestSocket(compat);
    await open(second, "/home");
    await open(guest, "/home");
    // Both sockets connect at once: their sessions may start in either order.
    const sessionStarts = compat.calls().slice(3);
    expect(sessionStarts).toHaveLength(2);
    expect(sessionStarts).toEqual(
      expect.arrayContaining([
        { listener: "onSessionStart", me: alice },
        { listener: "onSessionStart", me: null },
      ]),
    );

    // The last session gone, the environment stops: the next session starts it again.
    await Promise.all([first, second, guest].map(disconnect));
    await noSession();
    await open(guestSocket(compat), "/home");
    expect(compat.calls().slice(5)).toEqual([
      { listener: "onEnvStart", me: null },
      { listener: "onSessionStart", me: null },
    ]);
    const names = compat.calls().map((call) => call.listener);
    expect(names.filter((name) => STOP_LISTENERS.includes(name))).toEqual([]);
  });

  it("refuses every socket (HTTP 403) while onEnvStart or onSessionStart fails, and serves once they work", async () => {
    await noSession();
    const envStarts = () => compat.calls().filter((call) => call.listener === "onEnvStart").length;
    for (const listener of ["onEnvStart", "onSessionStart"]) {
      const started = envStarts();
      const control = compat.server.store.createDoc("control", { fail: listener });
      const errors = compat.logs.filter((line) => line.level === "error").length;
      expect(await socketStatus(compat, {})).toBe(403);
      expect(await socketStatus(compat, { token: insecureTestToken(uniqueUser()) }), listener).toBe(
        403,
      );
      const logged = compat.logs.filter((line) => line.level === "error").slice(errors);
      expect(logged[0]?.message).toBe(
        `The app's ${listener} listener failed: ${listener} failed on purpose. Lenra then refuses every connection${listener === "onEnvStart" ? " (the environment cannot start)" : ""}, and so does the dev server.`,
      );
      compat.server.store.deleteDoc("control", control._id);
      expect(await socketStatus(compat, {})).toBe(101);
      // A failed onEnvStart is tried again by the next socket; a session that fails to start
      // leaves the environment running, as on Lenra: onEnvStart ran once.
      expect(envStarts() - started, listener).toBe(1);
      await noSession();
    }
  });

  it("refuses a new user's first socket when onUserFirstJoin fails, and never calls it again for that user", async () => {
    const bob = uniqueUser("bob");
    const control = compat.server.store.createDoc("control", { fail: "onUserFirstJoin" });
    expect(await socketStatus(compat, { token: insecureTestToken(bob) })).toBe(403);
    compat.server.store.deleteDoc("control", control._id);
    expect(await socketStatus(compat, { token: insecureTestToken(bob) })).toBe(101);
    expect(compat.server.store.getPlatformValue("knownUsers")).toContain(bob);
    expect(compat.calls().filter((call) => call.me === bob)).toEqual([
      { listener: "onSessionStart", me: bob },
    ]);
  });
});

describe("an app without system listeners", () => {
  let compat: Compat;

  beforeAll(async () => {
    compat = await startCompat({ without: ["src/listeners/system.js"] });
  });

  afterAll(() => compat?.close());

  it("is refused every socket, as on Lenra where @lenra/app answers 500 for the missing onEnvStart, and says why in one line", async () => {
    expect(await socketStatus(compat, {})).toBe(403);
    expect(await socketStatus(compat, { token: insecureTestToken(uniqueUser()) })).toBe(403);
    const errors = compat.logs.filter((line) => line.level === "error");
    expect(errors[0]?.message).toBe(
      "The app has no onEnvStart listener: @lenra/app answers 500 for it, and Lenra then refuses every connection (the environment cannot start). So does the dev server. Export an onEnvStart function from one of the app's listener files (an empty one will do).",
    );
    expect(errors.every((line) => !line.message.includes("\n"))).toBe(true);
    // Nothing about the listeners Lenra never calls.
    await compat.server.close();
    const printed = compat.output.join("");
    for (const name of STOP_LISTENERS) expect(printed).not.toContain(name);
  });
});
