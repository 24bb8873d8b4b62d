// Makes sure the browser tests have a Chromium to drive. Playwright's own browser download is not
// used: the tests run Debian's `chromium` (or whatever CHROMIUM_PATH points to).
import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";

const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
const found = candidates.find((path) => path && isExecutable(path));
if (found) {
  console.log(`Chromium: ${found}`);
  process.exit(0);
}
if (process.env.CHROMIUM_PATH) {
  fail(`CHROMIUM_PATH is set to ${process.env.CHROMIUM_PATH}, which is not an executable file.`);
}
if (process.platform === "linux" && process.getuid?.() === 0 && isExecutable("/usr/bin/apt-get")) {
  console.log("Installing Debian's chromium with apt-get…");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], {
    stdio: "inherit",
    env,
  });
  process.exit(0);
}
fail(
  "The browser tests need Chromium. Install it (Debian/Ubuntu: `sudo apt-get install chromium`) " +
    "or set CHROMIUM_PATH to a Chrome or Chromium executable.",
);

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function fail(message) {
  console.error(message);
  process.exit(1);
}
