/**
 * An in-process stand-in for the server end of a phoenix WebSocket: it accepts every join, leave
 * and heartbeat, and hands the client the frames a benchmark gives it, synchronously, as the
 * browser's `message` event would. No network, so what is measured is the client's own work.
 */

export interface FakeServer {
  /** The WebSocket constructor to give the client (`transport`). */
  readonly transport: new (
    url: string,
  ) => object;
  /** Resolves once `topic` was joined. */
  joined(topic: string): Promise<void>;
  /** Delivers a frame (phoenix's JSON text) to the client. */
  send(frame: string): void;
}

export function createFakeServer(): FakeServer {
  let socket: FakeSocket | undefined;
  const waiting = new Map<string, () => void>();
  const topics = new Set<string>();

  class FakeSocket {
    readyState = 0;
    binaryType = "arraybuffer";
    onopen: (() => void) | undefined;
    onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | undefined;
    onerror: ((error: unknown) => void) | undefined;
    onmessage: ((event: { data: string }) => void) | undefined;

    constructor(_url: string) {
      socket = this;
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.();
      }, 0);
    }

    send(text: string): void {
      const [joinRef, ref, topic, event] = JSON.parse(text) as [string, string, string, string];
      if (event !== "phx_join" && event !== "phx_leave" && event !== "heartbeat") return;
      setTimeout(() => {
        this.onmessage?.({
          data: JSON.stringify([joinRef, ref, topic, "phx_reply", { status: "ok", response: {} }]),
        });
        if (event !== "phx_join") return;
        topics.add(topic);
        waiting.get(topic)?.();
      }, 0);
    }

    close(code = 1000, reason = ""): void {
      this.readyState = 3;
      this.onclose?.({ code, reason, wasClean: true });
    }
  }

  return {
    transport: FakeSocket,
    joined: (topic) =>
      topics.has(topic)
        ? Promise.resolve()
        : new Promise((resolve) => {
            waiting.set(topic, resolve);
          }),
    send(frame) {
      socket!.onmessage!({ data: frame });
    },
  };
}

/** A server push of `event` on `topic`, as phoenix's JSON serializer writes it. */
export function frame(topic: string, event: string, payloadJson: string): string {
  return `[null,null,${JSON.stringify(topic)},${JSON.stringify(event)},${payloadJson}]`;
}
