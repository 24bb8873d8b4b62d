import { describe, expect, it } from "vitest";
import { EncodedPayload, encodeMessage } from "../src/protocol/frames.ts";

describe("EncodedPayload", () => {
  const payload = { patch: [{ op: "replace", path: "/value", value: "é ✓" }] };

  it("gives the bytes of the message encodeMessage would give", () => {
    const encoded = new EncodedPayload(JSON.stringify(payload));
    for (const [joinRef, topic] of [
      ["1", "route:/counter"],
      [null, "route:/counter"],
      ["7", 'route:/a "quoted" path'],
    ] as const) {
      const bytes = encoded.message(joinRef, topic, "patchUi");
      expect(bytes.toString("utf8")).toBe(encodeMessage(joinRef, null, topic, "patchUi", payload));
    }
  });

  it("builds each distinct message once, and never gives one channel another's", () => {
    const encoded = new EncodedPayload(JSON.stringify(payload));
    const first = encoded.message("1", "route:/a", "patchUi");
    expect(encoded.message("1", "route:/a", "patchUi")).toBe(first);

    const others = [
      encoded.message(null, "route:/a", "patchUi"),
      encoded.message("null", "route:/a", "patchUi"),
      encoded.message("2", "route:/a", "patchUi"),
      encoded.message("1", "route:/b", "patchUi"),
      encoded.message("1", "route:/a", "ui"),
      // Parts that would run together if the head were joined with a separator.
      encoded.message('1","route:/a', "", "patchUi"),
    ];
    const texts = new Set([first, ...others].map((bytes) => bytes.toString("utf8")));
    expect(texts.size).toBe(others.length + 1);
    for (const bytes of others) expect(JSON.parse(bytes.toString("utf8"))[4]).toEqual(payload);
  });

  it("keeps a bounded number of messages, and builds the others right each time", () => {
    const encoded = new EncodedPayload(JSON.stringify(payload));
    const joinRefs = Array.from({ length: 20 }, (_, i) => String(i + 1));
    const first = joinRefs.map((joinRef) => encoded.message(joinRef, "route:/a", "patchUi"));
    const again = joinRefs.map((joinRef) => encoded.message(joinRef, "route:/a", "patchUi"));

    const kept = again.filter((bytes, i) => bytes === first[i]).length;
    expect(kept).toBe(8);
    again.forEach((bytes, i) => {
      expect(bytes.toString("utf8")).toBe(
        encodeMessage(joinRefs[i] ?? null, null, "route:/a", "patchUi", payload),
      );
    });
  });
});
