import { createServer, type RequestListener, type Server } from "node:http";
import ExpressServer from "@lenra/app/dist/lib/server.js";

type ExpressApp = RequestListener & { listen: (port: unknown, onListening?: () => void) => Server };

/**
 * The official express server of @lenra/app, bound to one interface (`HOST`, defaults to
 * 127.0.0.1) instead of all of them, because a development app has no business being reachable
 * from the network.
 */
export default class LoopbackServer extends ExpressServer {
  override start(): void {
    const host = process.env.HOST || "127.0.0.1";
    // The express app is private and its listen() binds every interface; replacing only listen()
    // keeps every body parser, route and error answer of the official server.
    const app = (this as unknown as { app: ExpressApp }).app;
    app.listen = (port, onListening) => {
      const server = createServer(app);
      server.once("error", (error) => {
        console.error(`Cannot listen on ${host}:${String(port)}: ${error.message}`);
        process.exit(1);
      });
      return server.listen(Number(port), host, onListening);
    };
    super.start();
  }
}
