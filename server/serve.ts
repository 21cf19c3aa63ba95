/**
 * `chat serve`: starts the server, prints the banner, and shuts down cleanly on SIGINT or
 * SIGTERM (a second signal exits at once).
 *
 * @module
 */

import { VERSION } from "../flags/version.ts";
import { bannerLines, joinAddresses } from "./banner.ts";
import { startServer } from "./chat_server.ts";
import type { ServeConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { DatabaseOpenError } from "../store/database.ts";

const encoder = new TextEncoder();

/**
 * Runs the chat server until it is told to stop.
 *
 * @param config the server's settings
 * @returns the exit code: 0 after a clean shutdown, 1 when it could not start
 */
export async function runServe(config: ServeConfig): Promise<number> {
  const log = createLogger({
    format: config.log,
    quiet: config.quiet,
    logMessages: config.logMessages,
  });
  let server;
  try {
    server = await startServer(config, { log, idleGc: true });
  } catch (error) {
    const where = `${config.host === "::" ? "" : config.host}:${config.port}`;
    const reason = error instanceof DatabaseOpenError
      ? error.message
      : error instanceof Deno.errors.AddrInUse && error.message.includes("TLS port")
      ? error.message
      : error instanceof Deno.errors.AddrInUse
      ? `Port ${config.port} is already in use (another chat server?); choose another with --port`
      : error instanceof Deno.errors.PermissionDenied
      ? `Not allowed to listen on ${where}; ports below 1024 need privileges, so try --port 5050`
      : error instanceof Deno.errors.AddrNotAvailable
      ? `Cannot listen on ${where}: no interface has that address; check --host`
      : `Cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`;
    Deno.stderr.writeSync(encoder.encode(`chat serve: ${reason}\n`));
    return 1;
  }
  let interfaces: Deno.NetworkInterfaceInfo[] = [];
  try {
    interfaces = Deno.networkInterfaces();
  } catch {
    // Without permission to list interfaces the banner shows only the port.
  }
  const certificate = server.certificate;
  const tlsPort = server.tlsPort;
  const banner = bannerLines(
    VERSION,
    server.port,
    joinAddresses(config.host, interfaces),
    certificate === undefined || tlsPort === undefined
      ? undefined
      : { port: tlsPort, fingerprint: certificate.fingerprint },
  );
  Deno.stdout.writeSync(encoder.encode(banner.join("\n") + "\n"));
  log.info("listening", {
    host: config.host,
    port: server.port,
    ...(tlsPort === undefined ? {} : { tls_port: tlsPort }),
    ...(certificate === undefined
      ? {}
      : { certificate: certificate.fingerprint, certificate_source: certificate.source }),
    data: server.database.path,
  });

  let signals = 0;
  const onSignal = (signal: Deno.Signal) => {
    signals++;
    if (signals > 1) {
      log.error("forced_exit", { signal });
      Deno.exit(1);
    }
    log.info("shutdown", { signal, connections: server.connections });
    void server.close();
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = () => onSignal(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  await server.finished;
  for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  return 0;
}
