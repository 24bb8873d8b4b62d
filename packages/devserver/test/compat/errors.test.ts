import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withoutStackTraces } from "../../src/app/output.ts";
import { joinChannel, waitFor } from "../helpers.ts";
import { type Compat, guestSocket, open, startCompat, userSocket } from "./support.ts";

// Lenra wraps every failure of the app in its technical error 500: the same message for all,
// the app's own text as `metadata` (lenra-io/server ApplicationServices.response/2).
const APP_FAILURE = { message: "Internal server error.", reason: "error_500" };

let compat: Compat;

beforeAll(async () => {
  compat = await startCompat();
});

afterAll(() => compat?.close());

describe("listener errors", () => {
  it("a failing listener: the reply carries Lenra's error 500 with status_code, the error event the same without it", async () => {
    const route = await open(guestSocket(compat), "/listeners");
    const logged = compat.logs.length;
    const reply = await route.run(route.code("failing"));
    const error = { ...APP_FAILURE, metadata: "The app's own words" };
    expect(reply).toEqual({ status: "error", response: { error: { ...error, status_code: 500 } } });
    expect(route.errors).toEqual([error]);

    // One line in the dev server's log, with the app's message; the app's stack trace is for
    // --debug only.
    expect(compat.logs.slice(logged)).toEqual([
      { level: "warn", message: `The listener "failWith" failed: The app's own words` },
    ]);
    await waitFor(() => compat.output.join("").includes("The app's own words"));
    const printed = compat.output.join("");
    expect(printed).toMatch(/\n\s+at /);
    const quiet = withoutStackTraces(printed);
    expect(quiet).not.toMatch(/^\s+at /m);
    expect(quiet).not.toContain("The app's own words");
  });

  it("a listener the app lacks: @lenra/app answers 500, so it is the same error 500", async () => {
    const route = await open(guestSocket(compat), "/listeners");
    expect(await route.run(route.code("missing"))).toEqual({
      status: "error",
      response: {
        error: { ...APP_FAILURE, metadata: "No listener found for doesNotExist", status_code: 500 },
      },
    });
  });

  it("a code the session was never sent: unknow_listener_code with the code as metadata", async () => {
    const route = await open(userSocket(compat, "alice"), "/listeners");
    const other = await open(guestSocket(compat), "/home");
    const code = other.code("onRecord");
    const error = {
      message: "No listeners found for the given code",
      reason: "unknow_listener_code",
      metadata: code,
    };
    expect(await route.run(code)).toEqual({
      status: "error",
      response: { error: { ...error, status_code: 400 } },
    });
    expect(route.errors).toEqual([error]);
  });
});

describe("view errors", () => {
  it("a view that fails on its first render refuses the join with the error 500: no ui", async () => {
    const control = compat.server.store.createDoc("control", { failView: "Nothing to show" });
    try {
      const socket = guestSocket(compat);
      const channel = socket.channel("route:/failing", { mode: "json" });
      let uis = 0;
      channel.on("ui", () => {
        uis++;
      });
      expect(await joinChannel(channel)).toEqual({
        status: "error",
        response: { ...APP_FAILURE, metadata: "Nothing to show", status_code: 500 },
      });
      // A join that works afterwards gets a ui: none came for the refused one.
      await open(socket, "/home");
      expect(uis).toBe(0);
    } finally {
      compat.server.store.deleteDoc("control", control._id);
    }
  });

  it("a view that fails after a data change pushes the error and keeps the last ui; the next render is a patch from it", async () => {
    const route = await open(guestSocket(compat), "/failing");
    expect(route.document).toEqual({ ok: true, version: 0 });
    const control = compat.server.store.createDoc("control", { failView: "Broken by a change" });
    await waitFor(() => route.errors.length === 1);
    expect(route.errors).toEqual([{ ...APP_FAILURE, metadata: "Broken by a change" }]);
    expect(route.document).toEqual({ ok: true, version: 0 });

    compat.server.store.deleteDoc("control", control._id);
    const version = compat.server.store.createDoc("control", { version: 2 });
    await waitFor(() => (route.document as { version: number }).version === 2);
    expect(route.received.map((item) => item.event)).toEqual(["ui", "error", "patchUi"]);
    compat.server.store.deleteDoc("control", version._id);
  });
});
