// Preloaded into the app by the dev server (node --import, bun --preload). When the dev server
// dies without a chance to stop the app (SIGKILL), the app is re-parented and its parent pid
// changes: it then ends its own process group, so no app is left holding its port.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(0, "SIGTERM");
}, 500).unref();
