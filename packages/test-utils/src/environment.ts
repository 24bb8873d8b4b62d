import { builtinEnvironments, type Environment } from "vitest/runtime";

const NODE_FETCH = ["fetch", "Request", "Response", "Headers"] as const;

/**
 * happy-dom, but with Node's `fetch`: the tests' OAuth requests go to servers on other origins
 * of 127.0.0.1, which a browser allows through CORS and happy-dom's fetch refuses.
 */
export default {
  name: "happy-dom-node-fetch",
  viteEnvironment: "client",
  async setup(global, options) {
    const saved = NODE_FETCH.map((key) => [key, global[key]] as const);
    const environment = await builtinEnvironments["happy-dom"].setup(global, options);
    for (const [key, value] of saved) global[key] = value;
    return environment;
  },
} satisfies Environment;
