import { describe, expect, it } from "vitest";
import { KB, measureAll, sizeTable } from "./support/bundle-size.ts";

// Budgets in KB of 1024 bytes, minified then gzipped at level 9; `pnpm bench` prints the same
// figures. The guest-only app stays below the old client with its login (15.8 KB).
const BUDGETS = {
  guestOnly: 15 * KB,
  withLogin: 17 * KB,
  loginChunk: 8 * KB,
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
    const login = size("app with login");
    expect(login.initial.gzip, "app with login at load").toBeLessThanOrEqual(BUDGETS.withLogin);
    expect(login.lazy.gzip, "login chunk").toBeGreaterThan(0);
    expect(login.lazy.gzip, "login chunk").toBeLessThanOrEqual(BUDGETS.loginChunk);
    for (const adapter of ["@lenra/react alone", "@lenra/vue alone"] as const) {
      expect(size(adapter).initial.gzip, adapter).toBeLessThanOrEqual(BUDGETS.adapter);
    }
  });
});
