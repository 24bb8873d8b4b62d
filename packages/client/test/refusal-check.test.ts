import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { probeHttp, REFUSALS_BEFORE_SUSPICION, RefusalCheck } from "../src/refusal-check.ts";

/** A probe and a refresh that answer what the test says and count their calls. */
function fakes(answers: { reachable?: boolean[]; refreshed?: boolean[] }) {
  const calls = { probe: 0, refresh: 0 };
  const check = new RefusalCheck(
    async () => {
      const reachable = answers.reachable?.[calls.probe];
      calls.probe += 1;
      return reachable ?? true;
    },
    async () => {
      const refreshed = answers.refreshed?.[calls.refresh];
      calls.refresh += 1;
      return refreshed ?? false;
    },
  );
  return { check, calls };
}

const never = () => false;

async function refuse(check: RefusalCheck, times: number) {
  const verdicts: string[] = [];
  for (let i = 0; i < times; i++) verdicts.push(await check.refused(never));
  return verdicts;
}

describe("RefusalCheck", () => {
  it("retries without a question below the threshold", async () => {
    const { check, calls } = fakes({});
    expect(await refuse(check, REFUSALS_BEFORE_SUSPICION - 1)).toEqual(["retry", "retry"]);
    expect(calls).toEqual({ probe: 0, refresh: 0 });
  });

  it("blames a server that does not answer HTTP, not the token, and counts again from zero", async () => {
    const { check, calls } = fakes({ reachable: [false, false] });
    expect(await refuse(check, 3)).toEqual(["retry", "retry", "retry"]);
    expect(calls).toEqual({ probe: 1, refresh: 0 });
    expect(await refuse(check, 2)).toEqual(["retry", "retry"]);
    expect(calls.probe).toBe(1);
    expect(await refuse(check, 1)).toEqual(["retry"]);
    expect(calls).toEqual({ probe: 2, refresh: 0 });
  });

  it("refreshes the token once when the server answers, then gives up on the next suspicion", async () => {
    const { check, calls } = fakes({ refreshed: [true] });
    expect(await refuse(check, 3)).toEqual(["retry", "retry", "retry"]);
    expect(calls).toEqual({ probe: 1, refresh: 1 });
    expect(await refuse(check, 3)).toEqual(["retry", "retry", "unauthorized"]);
    expect(calls).toEqual({ probe: 2, refresh: 1 });
  });

  it("says unauthorized at once when the refresh brings no new token", async () => {
    const { check, calls } = fakes({ refreshed: [false] });
    expect(await refuse(check, 3)).toEqual(["retry", "retry", "unauthorized"]);
    expect(calls).toEqual({ probe: 1, refresh: 1 });
  });

  it("refreshes nothing once the question went away during the probe", async () => {
    const { check, calls } = fakes({});
    await refuse(check, 2);
    expect(await check.refused(() => true)).toBe("retry");
    expect(calls).toEqual({ probe: 1, refresh: 0 });
  });

  it("starts over after reset() (the socket opened, the identity changed)", async () => {
    const { check, calls } = fakes({ refreshed: [true, false] });
    await refuse(check, 3);
    check.reset();
    expect(await refuse(check, 2)).toEqual(["retry", "retry"]);
    // A new refresh is allowed after a reset.
    expect(await refuse(check, 1)).toEqual(["unauthorized"]);
    expect(calls).toEqual({ probe: 2, refresh: 2 });
  });
});

describe("probeHttp", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  async function listen(status: number) {
    const paths: string[] = [];
    server = createServer((request, response) => {
      paths.push(request.url ?? "");
      response.writeHead(status).end();
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return { endpoint: `ws://127.0.0.1:${port}/socket`, paths };
  }

  it("is true for any HTTP answer at the endpoint's websocket path, a 403 included", async () => {
    const { endpoint, paths } = await listen(403);
    expect(await probeHttp(endpoint, undefined, new AbortController().signal)).toBe(true);
    expect(paths).toEqual(["/socket/websocket"]);
  });

  it("is false when nothing listens", async () => {
    const { endpoint } = await listen(200);
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    expect(await probeHttp(endpoint, undefined, new AbortController().signal)).toBe(false);
  });

  it("is false at once when the client is disposed, and uses the given fetch", async () => {
    const controller = new AbortController();
    let seen: RequestInit | undefined;
    const hanging: typeof fetch = (_url, init) => {
      seen = init;
      return new Promise((_resolve, reject) =>
        init?.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
      );
    };
    const result = probeHttp("wss://lenra.example/socket", hanging, controller.signal);
    controller.abort();
    expect(await result).toBe(false);
    expect(seen).toMatchObject({ mode: "no-cors", credentials: "omit" });
  });
});
