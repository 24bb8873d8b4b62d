// @vitest-environment node
import { watchBrowserGlobals } from "@lenra/test-utils/browser-globals";
import { describe, expect, it } from "vitest";
import { createSSRApp, defineComponent, h } from "vue";
import { renderToString } from "vue/server-renderer";

/** For every read of a browser global: the global and the code location that read it. */
const touches = watchBrowserGlobals(["window", "localStorage", "sessionStorage", "location"]);

/** Imported by the test, once the browser globals are watched. */
let lenra: typeof import("../src/index.ts");

const Counter = defineComponent({
  async setup() {
    const { status, data, suspense } = lenra.useLenraView<{
      value: number;
      onIncrement: { _type: "listener"; code: string };
    }>("/counter");
    const skipped = lenra.useLenraView(lenra.SKIP);
    const { isPending } = lenra.useListener(() => data.value?.onIncrement);
    const connection = lenra.useLenraConnection();
    await suspense();
    return () =>
      h(
        "p",
        `${status.value}:${data.value?.value}:${skipped.status.value}:${isPending.value}:${connection.status.value}`,
      );
  },
});

describe("server-side rendering without a DOM", () => {
  it("imports and renders pending states without touching window or opening a socket", async () => {
    lenra = await import("../src/index.ts");
    const { lenraLogin } = await import("../src/login.ts");
    const sockets: string[] = [];
    const plugin = lenra.createLenra({
      login: lenraLogin({ clientId: "app", redirectUri: "https://app.example/callback" }),
      transport: class {
        constructor(url: string) {
          sockets.push(url);
        }
      },
    });
    const App = defineComponent({
      setup: () => () => [
        h(Counter),
        h(lenra.AuthLoading, () => "checking login"),
        h(lenra.Authenticated, () => "logged in"),
        h(lenra.Unauthenticated, () => "guest"),
      ],
    });
    const html = await renderToString(createSSRApp(App).use(plugin));
    expect(html).toContain("<p>pending:undefined:pending:false:idle</p>");
    expect(html).toContain("checking login");
    expect(html).not.toContain("logged in");
    expect(html).not.toContain("guest");
    expect(sockets).toEqual([]);
    expect(plugin.client.connection.getSnapshot().status).toBe("idle");
    expect(plugin.client.auth.getSnapshot().status).toBe("loading");
    // Nothing of ours looks; phoenix (when imported) and Vue's devtools hook check `typeof window`.
    expect(touches().filter((touch) => /packages\/(client|vue)\/src\//.test(touch))).toEqual([]);
    expect(touches().filter((touch) => !/phoenix\.mjs|setDevtoolsHook/.test(touch))).toEqual([]);
  });
});
