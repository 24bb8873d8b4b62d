// @vitest-environment node

import { watchBrowserGlobals } from "@lenra/test-utils/browser-globals";
import { Suspense } from "react";
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";

/** For every read of a browser global: the global and the code location that read it. */
const touches = watchBrowserGlobals([
  "window",
  "document",
  "localStorage",
  "sessionStorage",
  "location",
]);

/** Imported by the test, once the browser globals are watched. */
let lenra: typeof import("../src/index.ts");

function Counter() {
  const { status, data } = lenra.useLenraView<{ value: number }>("/counter");
  const skipped = lenra.useLenraView(lenra.SKIP);
  const { isPending } = lenra.useListener(undefined);
  const connection = lenra.useLenraConnection();
  return (
    <p>
      {status}:{String(data?.value)}:{skipped.status}:{String(isPending)}:{connection.status}
    </p>
  );
}

function Suspended() {
  const { data } = lenra.useSuspenseLenraView<{ value: number }>("/counter");
  return <p>value {data.value}</p>;
}

describe("server-side rendering without a DOM", () => {
  it("imports and renders pending states without touching window or opening a socket", async () => {
    lenra = await import("../src/index.ts");
    const { lenraLogin } = await import("../src/login.ts");
    const sockets: string[] = [];
    const client = lenra.createLenraClient({
      login: lenraLogin({ clientId: "app", redirectUri: "https://app.example/callback" }),
      transport: class {
        constructor(url: string) {
          sockets.push(url);
        }
      },
    });
    const markup = renderToString(
      <lenra.LenraProvider client={client}>
        <Counter />
        <lenra.AuthLoading>checking login</lenra.AuthLoading>
        <lenra.Authenticated>logged in</lenra.Authenticated>
        <lenra.Unauthenticated>guest</lenra.Unauthenticated>
        <Suspense fallback={<p>loading</p>}>
          <Suspended />
        </Suspense>
      </lenra.LenraProvider>,
    );
    const html = markup.replaceAll("<!-- -->", "");
    expect(html).toContain("pending:undefined:pending:false:idle");
    expect(html).toContain("checking login");
    expect(html).not.toContain("logged in");
    expect(html).not.toContain("guest");
    // The suspending component is left to the client: the server shows the fallback.
    expect(html).toMatch(/<!--\$!-->.*<p>loading<\/p><!--\/\$-->/s);
    expect(sockets).toEqual([]);
    expect(client.connection.getSnapshot().status).toBe("idle");
    // Nothing of ours looks; phoenix checks `typeof window` when it is imported.
    expect(touches().filter((touch) => /packages\/(client|react)\/src\//.test(touch))).toEqual([]);
    expect(touches().filter((touch) => !/phoenix\.mjs/.test(touch))).toEqual([]);
  });
});
