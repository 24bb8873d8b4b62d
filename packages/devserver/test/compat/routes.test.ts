import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insecureTestToken } from "../../src/testing.ts";
import { joinChannel, waitFor } from "../helpers.ts";
import {
  type Compat,
  guestSocket,
  open,
  socketStatus,
  startCompat,
  uniqueUser,
  userSocket,
} from "./support.ts";

const LISTENER = { _type: "listener", code: expect.any(String) };
const HEX = "65A1B2C3D4E5F60718293A4B";
const ROUTE_DOES_NOT_EXIST = {
  message: "The given route does not exist. Please check your manifest.",
  reason: "route_does_not_exist",
  status_code: 400,
};

let compat: Compat;

beforeAll(async () => {
  compat = await startCompat();
  compat.server.store.insertMany("typed", [
    { label: "integer", value: 42 },
    { label: "string 42", value: "42" },
    { label: "float", value: -1.5 },
    { label: "boolean", value: true },
    { label: "string true", value: "true" },
    { label: "object id", value: HEX.toLowerCase() },
    { label: "string", value: "hello" },
    { label: "raw", value: "a%20b" },
    { label: "no value" },
  ]);
});

afterAll(() => compat?.close());

function notices(): string[] {
  return compat.logs.filter((line) => line.level === "warn").map((line) => line.message);
}

describe("route matching", () => {
  it("types route parameters as Lenra does: integers, floats, booleans, ObjectIds; other text stays as sent", async () => {
    const socket = guestSocket(compat);
    const cases: [string, unknown, string[]][] = [
      ["42", 42, ["integer"]],
      ["-1.5", -1.5, ["float"]],
      ["true", true, ["boolean"]],
      [HEX, HEX.toLowerCase(), ["object id"]],
      ["hello", "hello", ["string"]],
      ["a%20b", "a%20b", ["raw"]],
    ];
    for (const [segment, value, found] of cases) {
      const route = await open(socket, `/typed/${segment}`);
      expect(route.document, segment).toEqual({ pathParams: { value }, found });
    }
  });

  it("trims slashes at both ends of the path", async () => {
    const socket = guestSocket(compat);
    for (const path of ["/typed/42/", "typed/42", "//typed/42//"]) {
      expect((await open(socket, path)).document, path).toEqual({
        pathParams: { value: 42 },
        found: ["integer"],
      });
    }
  });

  it("refuses a guest the routes without the guest role, with Lenra's business error, and lists only the others", async () => {
    const guest = guestSocket(compat);
    expect(await joinChannel(guest.channel("route:/me", { mode: "json" }))).toEqual({
      status: "error",
      response: { ...ROUTE_DOES_NOT_EXIST, metadata: "/me" },
    });
    const user = uniqueUser();
    const mine = await open(userSocket(compat, user), "/me");
    expect(mine.document).toEqual({ me: user, roles: ["user"], onRecord: LISTENER });

    const paths = async (socket: ReturnType<typeof guestSocket>) => {
      const reply = await joinChannel(socket.channel("routes", { mode: "json" }));
      return (reply.response as { jsonRoutes: { path: string }[] }).jsonRoutes.map((r) => r.path);
    };
    const guestPaths = await paths(guest);
    expect(guestPaths).not.toContain("/me");
    expect(await paths(userSocket(compat, user))).toEqual(["/home", "/me", ...guestPaths.slice(1)]);
  });
});

describe("views", () => {
  it("renders nested views with their props; they get no route parameters, as on Lenra", async () => {
    const route = await open(guestSocket(compat), "/nested/42");
    expect(route.document).toEqual({
      title: "Outer",
      first: { label: "first", onPick: LISTENER },
      list: [
        { label: "a", onPick: LISTENER },
        { label: "b", onPick: LISTENER },
      ],
      // "@route.value" is null in a nested view: it finds the document without a value.
      routed: { found: ["no value"], pathParams: null },
    });
    expect(notices()).toContain(
      'The nested view "routed" queries "@route.value": Lenra gives nested views no route parameters, so it is null. Pass the value in the view\'s props instead.',
    );
    // A nested view's listener runs with its props.
    expect(await route.run(route.code("list.1.onPick"), { x: 1 })).toMatchObject({ status: "ok" });
    expect(compat.server.store.find("calls", { query: { listener: "record" } }).at(-1)).toEqual({
      _id: expect.any(String),
      listener: "record",
      me: null,
      props: { label: "b" },
      event: { x: 1 },
    });
  });

  it("shows only the value of a result's view key", async () => {
    const route = await open(guestSocket(compat), "/wrapped");
    expect(route.document).toEqual({ wrapped: true, onRecord: LISTENER });
    expect(notices()).toContain(
      'The view "wrapped" answered an object with a "view" key: Lenra keeps only that key\'s value and drops "extra", and so does the dev server.',
    );
  });

  it("keeps a listener's other keys but type; navTo alone; a nameless listener and other _type objects as they are", async () => {
    const route = await open(guestSocket(compat), "/listeners");
    const document = route.document as Record<string, unknown>;
    expect(document.full).toEqual({
      _type: "listener",
      label: "Go",
      // Lenra does not look inside a listener object.
      inner: { _type: "listener", name: "record" },
      code: expect.any(String),
    });
    expect(document.nav).toEqual({ navTo: "/elsewhere" });
    expect(document.nameless).toEqual({ _type: "listener", label: "no name" });
    expect(document.component).toEqual({
      _type: "button",
      text: "Press",
      onPressed: { _type: "listener", name: "record" },
    });
    expect(await route.run(route.code("full"), { y: 2 })).toMatchObject({ status: "ok" });
    expect(
      compat.server.store.find("calls", { query: { listener: "record" } }).at(-1),
    ).toMatchObject({ props: { a: 1 }, event: { y: 2 } });
    expect(notices()).toEqual(
      expect.arrayContaining([
        'The view "listeners" has a listener without a name at /nameless: Lenra leaves it as it is, so it cannot be called. Give it a name.',
        'The view "listeners" returned an object with _type "button" that holds listeners: in JSON views Lenra leaves such objects as they are, so those listeners keep their name and props and cannot be called.',
      ]),
    );
  });

  it('replaces "@me", "@roles" and unknown references in a find; other @-strings stay', async () => {
    const user = uniqueUser();
    compat.server.store.insertMany("places", [
      { label: "mine", owner: user, tag: "x" },
      { label: "ownerless", owner: null, tag: "x" },
      { label: "roles", kind: ["user"], owner: "someone", tag: "x" },
      { label: "bang", text: "@me!", owner: "someone", tag: "x" },
      { label: "at", text: "a@b", owner: "someone", tag: "x" },
      { label: "untagged", owner: "someone", tag: null },
      { label: "other", owner: "someone", tag: "x" },
    ]);
    const forUser = await open(userSocket(compat, user), "/placeholders");
    expect(forUser.document).toEqual({ labels: ["mine", "roles", "bang", "at", "untagged"] });
    const forGuest = await open(guestSocket(compat), "/placeholders");
    expect(forGuest.document).toEqual({ labels: ["ownerless", "bang", "at", "untagged"] });
    expect(notices()).toContain(
      'The view "labels" reads the session\'s roles ("@roles" or context.roles): Lenra\'s server gives the user\'s id there instead (a defect in its route server). The dev server gives the roles; do not rely on them until Lenra does.',
    );
  });
});

describe("modes and sockets", () => {
  it("answers a lenra-mode join (or one without a mode) as Lenra answers a route it does not have, and an unknown mode with incorrect_view_mode", async () => {
    const socket = guestSocket(compat);
    for (const [path, payload] of [
      ["/components", { mode: "lenra" }],
      ["/home", { mode: "lenra" }],
      ["/home", {}],
    ] as const) {
      const channel = socket.channel(`route:${path}`, payload);
      expect(await joinChannel(channel)).toEqual({
        status: "error",
        response: { ...ROUTE_DOES_NOT_EXIST, metadata: path },
      });
      channel.leave();
    }
    expect(notices()).toContain(
      'A client joined route:/components in "lenra" mode: it is one of the app\'s Lenra-component routes, which the dev server does not render. It answers route_does_not_exist instead.',
    );
    const xml = socket.channel("route:/home", { mode: "xml" });
    expect(await joinChannel(xml)).toEqual({
      status: "error",
      response: {
        message: "The view mode should be one of 'lenra', 'json'.",
        reason: "incorrect_view_mode",
        metadata: { mode: "xml" },
        status_code: 400,
      },
    });
    const lenraRoutes = await joinChannel(socket.channel("routes", { mode: "lenra" }));
    expect(lenraRoutes).toEqual({
      status: "ok",
      response: {
        lenraRoutes: [
          { path: "/components", view: { _type: "view", name: "home" }, roles: ["guest", "user"] },
        ],
      },
    });
    expect(await joinChannel(socket.channel("routes", { mode: "xml" }))).toEqual({
      status: "error",
      response: {
        message: "The given channel name does not exist.",
        reason: "invalid_channel_name",
        metadata: {},
      },
    });
  });

  it("refuses a guest socket that names no app (HTTP 403); any app name, or a user token, is this app", async () => {
    expect(await socketStatus(compat, { app: "" })).toBe(403);
    expect(await socketStatus(compat, { app: "whatever-name" })).toBe(101);
    expect(await socketStatus(compat, { app: "", token: insecureTestToken(uniqueUser()) })).toBe(
      101,
    );
    await waitFor(() =>
      compat.logs.some((line) => line.message.includes('"app" socket parameter')),
    );
  });
});
