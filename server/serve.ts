/**
 * `chat serve`: starts the server, prints the banner, and shuts down cleanly on SIGINT or
 * SIGTERM (a second request to stop exits at once).
 *
 * @module
 */

import { VERSION } from "../flags/version.ts";
import type { Broker } from "../core/broker.ts";
import type { ClusterStatus } from "../protocol/events.ts";
import type { SharedTrust } from "./trust.ts";
import { bannerLines, joinAddresses } from "./banner.ts";
import { type ChatServer, startServer } from "./chat_server.ts";
import type { ServeConfig } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { DatabaseOpenError } from "../store/database.ts";
import { AllowListError } from "./allow_list.ts";

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
  let node: ClusterNode | undefined;
  if (config.redis !== undefined) {
    try {
      node = await joinCluster(config, log);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      Deno.stderr.writeSync(encoder.encode(`chat serve: ${reason}\n`));
      return 1;
    }
  }
  let server: ChatServer;
  try {
    server = await startServer(config, {
      log,
      idleGc: true,
      ...(node === undefined
        ? {}
        : { broker: node.broker, cluster: node.status, shared: node.shared }),
    });
    node?.attach(server);
  } catch (error) {
    await node?.close();
    const where = `${config.host === "::" ? "" : config.host}:${config.port}`;
    const reason = error instanceof DatabaseOpenError || error instanceof AllowListError
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
    undefined,
    certificate === undefined || tlsPort === undefined
      ? undefined
      : { port: tlsPort, fingerprint: certificate.fingerprint },
  );
  if (node !== undefined) {
    const { name, nodes } = node.status();
    banner.splice(
      banner.length - 1,
      0,
      `Cluster "${name}" on ${config.redis}: ${nodes} ${
        nodes === 1 ? "node" : "nodes"
      } up, this one included`,
    );
  }
  Deno.stdout.writeSync(encoder.encode(banner.join("\n") + "\n"));
  log.info("listening", {
    host: config.host,
    port: server.port,
    ...(tlsPort === undefined ? {} : { tls_port: tlsPort }),
    ...(certificate === undefined
      ? {}
      : { certificate: certificate.fingerprint, certificate_source: certificate.source }),
    data: server.database.path,
    ...(node === undefined ? {} : { cluster: config.cluster, nodes: node.status().nodes }),
  });

  const requests = new StopRequests();
  const onSignal = (signal: Deno.Signal) => {
    const verdict = requests.receive(signal, performance.now());
    if (verdict === "force") {
      log.error("forced_exit", { signal });
      Deno.exit(1);
    }
    if (verdict === "stop") {
      log.info("shutdown", { signal, connections: server.connections });
      void server.close();
    }
    // Said so that an operator (and a test) can tell it was seen and taken as the same request.
    if (verdict === "duplicate") log.info("shutdown_repeated", { signal });
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = () => onSignal(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  // SIGHUP rereads the --allow file, as daemons reread their configuration.
  const onHangUp = () => {
    log.info("reload", { signal: "SIGHUP" });
    void server.reloadAllowList();
  };
  if (config.allow !== undefined) Deno.addSignalListener("SIGHUP", onHangUp);
  await server.finished;
  await node?.shared.close();
  for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  if (config.allow !== undefined) Deno.removeSignalListener("SIGHUP", onHangUp);
  return 0;
}

/** This server as a node of a cluster: its Redis broker, and what it does when Redis falters. */
interface ClusterNode {
  readonly broker: Broker;
  /** Owned names, operators' decisions and the member directory, shared by the nodes. */
  readonly shared: SharedTrust & { close(): Promise<void> };
  /** Lets go of Redis (when the server could not start). */
  close(): Promise<void>;
  /** What `welcome.cluster` says now. */
  readonly status: () => ClusterStatus;
  /** Connects the broker's news to the running server. */
  attach(server: ChatServer): void;
}

/**
 * Connects to the cluster's Redis. The Redis module (and `npm:ioredis`) is loaded only here,
 * so a server on its own needs nothing but Deno.
 */
async function joinCluster(config: ServeConfig, log: Logger): Promise<ClusterNode> {
  const { RedisBroker } = await import("../core/redis_broker.ts");
  const { RedisTrust } = await import("./redis_trust.ts");
  let server: ChatServer | undefined;
  const broker = await RedisBroker.connect({
    url: config.redis!,
    cluster: config.cluster,
    nodeTimeoutMs: config.nodeTimeout * 1000,
    onLost: () => {
      log.error("cluster_lost", {
        cluster: config.cluster,
        members: server?.chat.size ?? 0,
      });
      server?.dropMembers({
        type: "shutdown",
        message: "This server was cut off from the cluster and its members were taken for " +
          "lost: reconnect (chat join does so itself) to carry on where you were",
      });
    },
    onDegraded: (degraded) => {
      log[degraded ? "error" : "info"](degraded ? "cluster_degraded" : "cluster_restored", {
        cluster: config.cluster,
      });
      server?.notifyAll({
        type: "notice",
        text: degraded
          ? "The cluster is degraded: this server cannot reach Redis. You can go on talking " +
            "with the members of this server (your messages are marked pending and reach the " +
            "other servers once Redis is back, in order); private messages to members of " +
            "other servers have to wait until then"
          : "The cluster is whole again: what was said here meanwhile has reached the other " +
            "servers, and what they said is shown",
      });
    },
    onError: (message) => log.error("redis", { error: message }),
  });
  const shared = await RedisTrust.connect({
    url: config.redis!,
    cluster: config.cluster,
    node: broker.node,
    nameDays: config.nameDays,
    onError: (message) => log.error("redis", { error: message }),
  }).catch(async (error) => {
    await broker.close();
    throw error;
  });
  return {
    broker,
    shared,
    close: async () => {
      await shared.close();
      await broker.close();
    },
    status: () => ({ name: config.cluster, nodes: broker.nodes, degraded: broker.degraded }),
    attach: (running) => server = running,
  };
}

/**
 * How long after a stop signal the same signal again is taken as the same request. One Ctrl-C
 * on `deno task serve` arrives twice within milliseconds (the terminal signals the whole process
 * group, and `deno task` forwards its own copy); a person pressing Ctrl-C again to insist takes
 * longer than this.
 */
export const DUPLICATE_SIGNAL_MS = 1000;

/** What a stop signal asks for: begin the shutdown, nothing new, or exit at once. */
export type StopVerdict = "stop" | "duplicate" | "force";

/**
 * Turns stop signals into requests: the first begins a clean shutdown; the same signal again
 * within {@linkcode DUPLICATE_SIGNAL_MS} is the same request; any other signal, or the same one
 * later, means "stop now".
 *
 * @example One Ctrl-C through `deno task`, then a real second one
 * ```ts
 * import assert from "node:assert/strict";
 * import { StopRequests } from "./serve.ts";
 * const requests = new StopRequests();
 * assert.ok(requests.receive("SIGINT", 1000) === "stop");
 * assert.ok(requests.receive("SIGINT", 1003) === "duplicate");
 * assert.ok(requests.receive("SIGINT", 2500) === "force");
 * ```
 */
export class StopRequests {
  #first: { readonly signal: Deno.Signal; readonly at: number } | undefined;

  /**
   * Takes one signal.
   *
   * @param signal the signal received
   * @param now the time in milliseconds (`performance.now()`)
   * @returns what to do about it
   */
  receive(signal: Deno.Signal, now: number): StopVerdict {
    if (this.#first === undefined) {
      this.#first = { signal, at: now };
      return "stop";
    }
    const same = signal === this.#first.signal && now - this.#first.at < DUPLICATE_SIGNAL_MS;
    return same ? "duplicate" : "force";
  }
}
