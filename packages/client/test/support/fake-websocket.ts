/**
 * An in-memory WebSocket with a tiny Phoenix server behind it, for tests that run on fake timers
 * (vi.useFakeTimers): the server answers heartbeats and leaves `ok`, answers joins `ok` and
 * pushes a `ui`, and answers runs `ok`, unless the test says otherwise. Tests with real sockets
 * use the dev server; this one lets a test say exactly when each frame moves.
 */

type Handler = ((event: unknown) => void) | null;
type Upgrade = "open" | "hang" | number;

/** What the fake network does with new sockets and frames. */
export interface FakeNetwork {
  /**
   * What a new socket's upgrade gets: `open` (after a tick), `hang` (no answer, ever), or an HTTP
   * status it fails with; a function decides from the URL (its token, say).
   */
  upgrade: Upgrade | ((url: URL) => Upgrade);
  /** The document pushed after a join. */
  ui: (topic: string) => unknown;
  /** Every socket made, oldest first. */
  sockets: FakeWebSocket[];
}

export const network: FakeNetwork = {
  upgrade: "open",
  ui: () => ({ value: 1 }),
  sockets: [],
};

export function resetNetwork(): void {
  network.upgrade = "open";
  network.ui = () => ({ value: 1 });
  network.sockets = [];
}

export class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 0;
  binaryType = "arraybuffer";
  bufferedAmount = 0;
  onopen: Handler = null;
  onclose: Handler = null;
  onerror: Handler = null;
  onmessage: Handler = null;
  readonly url: string;
  /** Frames the client sent, parsed. */
  readonly sent: unknown[][] = [];
  /** Half-open: nothing passes anymore, either way, and no close is ever seen. */
  stalled = false;

  constructor(url: string) {
    this.url = url;
    network.sockets.push(this);
    const upgrade =
      typeof network.upgrade === "function" ? network.upgrade(new URL(url)) : network.upgrade;
    if (upgrade === "hang") return;
    setTimeout(() => {
      if (this.readyState !== 0) return;
      if (upgrade === "open") {
        this.readyState = 1;
        this.onopen?.({ type: "open" });
        return;
      }
      // As in a browser: nothing says what the status was.
      this.onerror?.({ type: "error" });
      this.#closed(1006);
    }, 1);
  }

  send(text: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    if (this.stalled) return;
    const frame = JSON.parse(text) as [string | null, string, string, string, unknown];
    this.sent.push(frame);
    const [joinRef, ref, topic, event] = frame;
    const reply = (status: string, response: unknown = {}) =>
      this.deliver([joinRef, ref, topic, "phx_reply", { status, response }]);
    if (event === "heartbeat" || event === "phx_leave" || event === "run") reply("ok");
    if (event === "phx_join") {
      reply("ok");
      this.deliver([joinRef, null, topic, "ui", network.ui(topic)]);
    }
  }

  /** The server sends a frame, after a tick. */
  deliver(frame: unknown[]): void {
    const data = JSON.stringify(frame);
    setTimeout(() => {
      if (this.readyState === 1 && !this.stalled) this.onmessage?.({ data });
    }, 1);
  }

  close(code = 1000): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    // A half-open socket's close handshake never completes: the browser gives up much later.
    if (this.stalled) return;
    setTimeout(() => this.#closed(code), 1);
  }

  #closed(code: number) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ type: "close", code, wasClean: code !== 1006 });
  }
}
