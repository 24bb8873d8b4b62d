import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import {
  createRefusalCheck,
  probeUpgrade,
  REFUSALS_BEFORE_SUSPICION,
  type RefusalCheck,
} from "../src/refusal-check.ts";

/** A probe and a refresh that answer what the test says and count their calls. */
function fakes(answers: { accepted?: boolean[]; refreshed?: boolean[] }) {
  const calls = { probe: 0, refresh: 0 };
  const check = createRefusalCheck(
    async () => {
      const accepted = answers.accepted?.[calls.probe];
      calls.probe += 1;
      return accepted ?? true;
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

  it("blames a server that refuses the upgrade without the token too, and asks again at the next failure", async () => {
    const { check, calls } = fakes({ accepted: [false, false, true], refreshed: [true] });
    expect(await refuse(check, 3)).toEqual(["retry", "retry", "retry"]);
    expect(calls).toEqual({ probe: 1, refresh: 0 });
    expect(await refuse(check, 1)).toEqual(["retry"]);
    expect(calls).toEqual({ probe: 2, refresh: 0 });
    // The server is back and refuses the token: refreshed at this first confirmed refusal.
    expect(await refuse(check, 1)).toEqual(["retry"]);
    expect(calls).toEqual({ probe: 3, refresh: 1 });
  });

  it("refreshes the token once when the server accepts the upgrade without it, then gives up on the next suspicion", async () => {
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

describe("probeUpgrade", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  /** A socket server that accepts upgrades, or answers them with `status`. */
  async function listen(status?: number) {
    const urls: string[] = [];
    const wss = new WebSocketServer({ noServer: true });
    server = createServer();
    server.on("upgrade", (request, socket, head) => {
      urls.push(request.url ?? "");
      if (status !== undefined) {
        socket.end(`HTTP/1.1 ${status} Nope\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => ws.on("close", () => wss.close()));
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `ws://127.0.0.1:${port}/socket/websocket?vsn=2.0.0&app=a`, urls };
  }

  const never = new AbortController().signal;

  it("is true when the server accepts the upgrade, which it closes at once", async () => {
    const { url, urls } = await listen();
    expect(await probeUpgrade(url, WebSocket, 5000, never)).toBe(true);
    expect(urls).toEqual(["/socket/websocket?vsn=2.0.0&app=a"]);
  });

  it.each([403, 502])("is false when the upgrade is answered %i", async (status) => {
    const { url } = await listen(status);
    expect(await probeUpgrade(url, WebSocket, 5000, never)).toBe(false);
  });

  it("is false when nothing listens", async () => {
    const { url } = await listen();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    expect(await probeUpgrade(url, WebSocket, 5000, never)).toBe(false);
  });

  it("is false when the upgrade hangs past the timeout, or at once when the client is disposed", async () => {
    server = createServer();
    const hanging: Duplex[] = [];
    server.on("upgrade", (_request, socket: Duplex) => void hanging.push(socket));
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const url = `ws://127.0.0.1:${port}/socket/websocket`;
    expect(await probeUpgrade(url, WebSocket, 200, never)).toBe(false);
    const controller = new AbortController();
    const result = probeUpgrade(url, WebSocket, 600_000, controller.signal);
    controller.abort();
    expect(await result).toBe(false);
    for (const socket of hanging) socket.destroy();
  });
});
