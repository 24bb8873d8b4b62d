import { describe, expect, it } from "vitest";
import { KB, measureAll, sizeTable } from "./support/bundle-size.ts";

/**
 * Budgets in KB of 1024 bytes, minified then gzipped at level 9; `pnpm bench` prints the same
 * figures. Issue 10 asks for 15 KB for the guest-only app (13 KB as a stretch) and 17 KB at load
 * for the app with login. Neither is reached yet: phoenix alone is 7.45 KB (1.7 KB of it its
 * long-polling fallback, which its Socket references and no bundler can drop) and oauth4webapi
 * 6.5 KB; the budgets below hold what was reached (15.75 and 20.79 KB) against regressions.
 */
const BUDGETS = {
  guestOnly: 16 * KB,
  withLogin: 21 * KB,
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
    // Below the client it replaces, whose 15.85 KB include its login.
    expect(guest.initial.gzip).toBeLessThan(
      size("@lenra/client@1.0.0-beta.3 (reference)").initial.gzip,
    );
    const login = size("app with login");
    expect(login.initial.gzip, "app with login at load").toBeLessThanOrEqual(BUDGETS.withLogin);
    expect(login.lazy.gzip, "login chunk").toBeGreaterThan(0);
    expect(login.lazy.gzip, "login chunk").toBeLessThanOrEqual(BUDGETS.loginChunk);
    for (const adapter of ["@lenra/react alone", "@lenra/vue alone"] as const) {
      expect(size(adapter).initial.gzip, adapter).toBeLessThanOrEqual(BUDGETS.adapter);
    }
  });
});
