import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppProcess, startAppProcess } from "../src/app/process.ts";
import { replaceParams } from "../src/data/placeholders.ts";
import { type DataApiServer, startDataApi } from "./data-support.ts";

const counterApp = fileURLToPath(new URL("../../../examples/counter-app", import.meta.url));

interface RouteView {
  name: string;
  props?: Record<string, unknown>;
  find?: {
    coll: string;
    query: Record<string, unknown>;
    projection?: Record<string, unknown>;
    options?: Record<string, unknown>;
  };
}

let data: DataApiServer;
let app: AppProcess;
let routes: { path: string; view: RouteView }[];

beforeAll(async () => {
  data = await startDataApi();
  app = await startAppProcess({ dir: counterApp });
  routes = ((await post({})) as { json: { routes: typeof routes } }).json.routes;
});

afterAll(async () => {
  await app?.stop();
  await data?.close();
});

async function post(body: unknown): Promise<unknown> {
  const response = await fetch(app.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status}: ${text}`);
  return text === "" ? undefined : JSON.parse(text);
}

/** Runs a listener of the app as the platform does: the data API's URL and a token. */
function runListener(listener: string, token: string, props: unknown = {}, event: unknown = {}) {
  return post({ listener, props, event, api: { url: data.url, token } });
}

/** Renders a view the way the dev server's renderer does: find, replace, then POST. */
async function render(
  view: RouteView,
  userId: string | undefined,
  routeParams: Record<string, string> = {},
) {
  let found: unknown[] = [];
  if (view.find) {
    const query = replaceParams(view.find.query, { me: userId ?? null, route: routeParams });
    found = data.store.find(view.find.coll, {
      query,
      projection: view.find.projection,
      options: view.find.options,
    });
  }
  return post({ view: view.name, data: found, props: view.props ?? {}, context: {} });
}

function route(path: string): RouteView {
  const match = routes.find((candidate) => candidate.path === path);
  if (!match) throw new Error(`no route ${path}`);
  return match.view;
}

describe("the counter-app against this data API", () => {
  it("creates counters in its system listeners and counts with $inc", async () => {
    await runListener("onEnvStart", "env");
    await runListener("onEnvStart", "env");
    await runListener("onUserFirstJoin", "alice");
    await runListener("onSessionStart", "alice");
    expect(data.store.find("counter", { query: {} }).map((doc) => [doc.user, doc.count])).toEqual([
      ["global", 0],
      ["user-alice", 0],
    ]);

    const global = (await render(route("/counter/global"), undefined)) as {
      value: number;
      onIncrement: { props: unknown };
    };
    expect(global.value).toBe(0);
    await runListener("increment", "bob", global.onIncrement.props);
    await runListener("increment", "bob", global.onIncrement.props);
    const mine = (await render(route("/counter/me"), "user-alice")) as {
      onDecrement: { props: unknown };
    };
    await runListener("decrement", "alice", mine.onDecrement.props);

    expect(await render(route("/counter/global"), undefined)).toMatchObject({ value: 2 });
    expect(await render(route("/counter/me"), "user-alice")).toMatchObject({ value: -1 });
    await expect(runListener("increment", "alice", {})).rejects.toThrow(/does not exist yet/);
  });

  it("keeps todos per user, with nested item views, transactions and removal", async () => {
    await runListener("addTodo", "alice", {}, { value: "  Buy milk " });
    await runListener("addTodo", "alice", {}, { value: "Write tests" });
    await runListener("addTodo", "bob", {}, { value: "Bob's" });
    await expect(runListener("addTodo", "alice", {}, { value: "   " })).rejects.toThrow(
      /A todo needs a title/,
    );

    const list = (await render(route("/todos"), "user-alice")) as {
      items: RouteView[];
      remaining: number;
      onAdd: unknown;
    };
    expect(list.remaining).toBe(2);
    expect(list.onAdd).toEqual({ _type: "listener", name: "addTodo" });
    expect(list.items).toHaveLength(2);
    const [first, second] = list.items as [RouteView, RouteView];
    expect(first).toMatchObject({
      _type: "view",
      name: "todo",
      find: { coll: "todo", query: { user: "@me" } },
    });

    const item = (await render(first, "user-alice")) as {
      id: string;
      title: string;
      done: boolean;
      onToggle: { props: unknown };
      onRemove: { props: unknown };
    };
    expect(item).toMatchObject({ title: "Buy milk", done: false });
    await runListener("toggleTodo", "alice", item.onToggle.props);
    expect(await render(route("/todos/:id"), "user-alice", { id: item.id })).toMatchObject({
      id: item.id,
      title: "Buy milk",
      done: true,
    });
    expect(await render(route("/todos"), "user-alice")).toMatchObject({ remaining: 1 });

    // Bob can neither see nor change Alice's todo.
    await expect(render(route("/todos/:id"), "user-bob", { id: item.id })).rejects.toThrow(
      /Todo not found/,
    );
    await expect(runListener("removeTodo", "bob", item.onRemove.props)).rejects.toThrow(
      /Todo not found/,
    );

    await runListener("removeTodo", "alice", item.onRemove.props);
    const after = (await render(route("/todos"), "user-alice")) as { items: RouteView[] };
    expect(after.items).toEqual([second]);
    expect(data.store.find("todo", { query: {} }).map((doc) => [doc.user, doc.title])).toEqual([
      ["user-alice", "Write tests"],
      ["user-bob", "Bob's"],
    ]);
  });
});
