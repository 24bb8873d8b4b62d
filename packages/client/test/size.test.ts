import { describe, expect, it } from "vitest";
import { KB, measureAll, sizeTable } from "./support/bundle-size.ts";

/**
 * Budgets in KB of 1024 bytes, minified then gzipped at level 9, as issue 10 set them; `pnpm
 * bench` prints the same figures. The app with login loads two chunks on first use: the session
 * (tokens, refresh, popup wait) and the OAuth flows (oauth4webapi); each has the chunk budget.
 */
const BUDGETS = {
  guestOnly: 15 * KB,
  withLogin: 17 * KB,
  lazyChunk: 8 * KB,
  adapter: 1.5 * KB,
};

describe("bundle sizes", () => {
  it("stays within the budgets", async () => {
    const sizes = await measureAll();
    console.log("Bundle sizes (esbuild, minified, gzip -9; KB = 1024 bytes)");
    console.table(sizeTable(sizes));
    const size = (name: Parameters<typeof sizes.get>[0]) => {
      const measured = sizes.get(name);
      if (!measured) throw new Error(`${name} was not measured`);
      return measured;
    };
    const guest = size("guest-only app");
    expect(guest.initial.gzip, "guest-only app at load").toBeLessThanOrEqual(BUDGETS.guestOnly);
    expect(guest.lazy.gzip, "a guest-only app has no lazy chunk").toBe(0);
    // Below the client it replaces, whose 15.85 KB include its login.
    expect(guest.initial.gzip).toBeLessThan(
      size("@lenra/client@1.0.0-beta.3 (reference)").initial.gzip,
    );
    const login = size("app with login");
    expect(login.initial.gzip, "app with login at load").toBeLessThanOrEqual(BUDGETS.withLogin);
    expect([...login.chunks.keys()].sort(), "the login's lazy chunks").toEqual([
      "flows",
      "session",
    ]);
    for (const [chunk, { gzip }] of login.chunks) {
      expect(gzip, `lazy chunk "${chunk}"`).toBeLessThanOrEqual(BUDGETS.lazyChunk);
    }
    for (const adapter of ["@lenra/react alone", "@lenra/vue alone"] as const) {
      expect(size(adapter).initial.gzip, adapter).toBeLessThanOrEqual(BUDGETS.adapter);
    }
  });
});
