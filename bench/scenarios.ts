/**
 * The benchmark's scenarios (the shared harness's a, b, c, r and j, plus m with rooms, c20k
 * at the open-file limit, a/tls and tj over TLS) and the server flags that lift the limits which would distort them.
 *
 * @module
 */

import { UsageError } from "../flags/usage_error.ts";
import { DEFAULT_SERVE_CONFIG } from "../server/config.ts";
import { DEFAULT_LOAD_OPTIONS, type LoadOptions } from "./load.ts";

/** The load options a scenario sets; the rest come from the load process's defaults. */
export type ScenarioLoad = Omit<LoadOptions, "host" | "port" | "port2">;

/** One run of the benchmark: a fresh server and one load process. */
export interface Scenario {
  /** The selector, one of {@linkcode SCENARIO_GROUPS}. */
  readonly group: string;
  /** A unique label, such as `c/10000`. */
  readonly label: string;
  /** One sentence saying what runs. */
  readonly title: string;
  /** True for an idle run (no senders). */
  readonly idle: boolean;
  /** True when the load connects to the TLS port. */
  readonly tls?: boolean;
  /** What the load process does. */
  readonly load: ScenarioLoad;
  /**
   * True when the run is about how many connections one load process can hold: it runs even
   * when the open-file limit is below its clients, and the connects past the limit fail and
   * are counted. Otherwise such a run is skipped.
   */
  readonly upToNofile: boolean;
  /**
   * Two `chat serve --redis` nodes of one cluster on a local `redis-server` instead of one
   * server: the clients are split over them.
   */
  readonly cluster?: boolean;
}

/** The scenario selectors, in the order they run. */
export const SCENARIO_GROUPS: readonly string[] = Object.freeze([
  "a",
  "b",
  "r",
  "m",
  "c",
  "j",
  "c20k",
  "tj",
  "cluster",
]);

/** What every scenario shares: the load defaults without an address, clients or senders. */
const {
  host: _host,
  port: _port,
  port2: _port2,
  clients: _clients,
  senders: _senders,
  ..._BASE
} = DEFAULT_LOAD_OPTIONS;

function _idle(group: string, clients: number, hold: number, title: string): Scenario {
  return {
    group,
    label: `${group}/${clients}`,
    title: `${clients} ${title}, held ${hold} s`,
    idle: true,
    load: {
      ..._BASE,
      clients,
      senders: 0,
      hold,
      // Every join is announced to every member: n(n-1)/2 notices to read while joining
      // (50M at 10,000, 200M at 20,000).
      connectTimeout: clients > 10_000 ? 600 : clients > 5000 ? 180 : 120,
      readBufferBytes: 16384,
    },
    upToNofile: group === "c20k",
  };
}

/**
 * The runs for the selected scenarios, in the standard order.
 *
 * @param groups the selectors, such as `["a", "c"]`
 * @param quick short windows and fewer idle connections (a smoke test)
 * @returns the runs
 * @throws {UsageError} for an unknown selector or an empty selection
 * @example The idle runs
 * ```ts
 * import assert from "node:assert/strict";
 * import { scenariosFor } from "./scenarios.ts";
 * const runs = scenariosFor(["c", "j", "c20k"], false);
 * assert.ok(runs.map((run) => run.label).join() === "c/5000,j/10000,c20k/20000");
 * ```
 */
export function scenariosFor(groups: readonly string[], quick: boolean): Scenario[] {
  const known = SCENARIO_GROUPS.join(", ");
  if (groups.length === 0) throw new UsageError(`Select at least one scenario: ${known}`);
  for (const group of groups) {
    if (!SCENARIO_GROUPS.includes(group)) {
      throw new UsageError(`Scenarios are ${known}: "${group}"`);
    }
  }
  // The cluster's CPU per delivery is compared with a single node's in the same run: b.
  if (groups.includes("cluster") && !groups.includes("b")) groups = [...groups, "b"];
  const window = quick ? { warmup: 1, duration: 3, drain: 2 } : {};
  const runs: Scenario[] = [];
  for (const group of SCENARIO_GROUPS.filter((g) => groups.includes(g))) {
    if (group === "a") {
      runs.push({
        group,
        label: "a",
        title: "100 clients, 10 senders, closed loop with 8 in flight each, 64-byte texts",
        idle: false,
        load: { ..._BASE, clients: 100, senders: 10, ...window },
        upToNofile: false,
      }, {
        group,
        label: "a/tls",
        title: "scenario a with every client over TLS",
        idle: false,
        tls: true,
        load: { ..._BASE, clients: 100, senders: 10, ...window },
        upToNofile: false,
      });
    } else if (group === "b") {
      runs.push({
        group,
        label: "b",
        title: "1000 clients, 5 senders at 200 msg/s each (999k deliveries/s offered)",
        idle: false,
        load: { ..._BASE, clients: 1000, senders: 5, rate: 200, drain: 5, ...window },
        upToNofile: false,
      });
    } else if (group === "r") {
      runs.push({
        group,
        label: "r",
        title: "1000 clients, 5 senders at 10 msg/s each (50 msg/s, 50k deliveries/s): a real " +
          "chat's rate, so every message is its own write to every member",
        idle: false,
        load: { ..._BASE, clients: 1000, senders: 5, rate: 10, ...window },
        upToNofile: false,
      });
    } else if (group === "m") {
      runs.push({
        group,
        label: "m",
        title: "1000 clients in 10 rooms of 100, 2 senders per room at 250 msg/s each " +
          "(495k deliveries/s offered), no message may reach another room",
        idle: false,
        load: {
          ..._BASE,
          clients: 1000,
          senders: 20,
          rate: 250,
          rooms: 10,
          drain: 5,
          ...window,
        },
        upToNofile: false,
      });
    } else if (group === "cluster") {
      runs.push({
        group,
        label: "cluster",
        title: "b on two nodes and Redis: 1000 clients split over them, 5 senders at 200 msg/s",
        idle: false,
        load: { ..._BASE, clients: 1000, senders: 5, rate: 200, drain: 5, ...window },
        upToNofile: false,
        cluster: true,
      });
    } else if (group === "c") {
      runs.push(_idle("c", quick ? 500 : 5000, quick ? 2 : 3, "idle joined connections"));
    } else if (group === "j") {
      runs.push(_idle("j", quick ? 2000 : 10_000, 2, "connections joined in a storm"));
    } else if (group === "c20k") {
      runs.push(
        _idle("c20k", quick ? 3000 : 20_000, 2, "connections (as many as one process may open)"),
      );
    } else {
      // Joins of 1000 clients without and with an identity (the challenge adds a round trip and
      // a signature check), over TLS as chat join connects. (Named j until issue 18 gave j to
      // the shared harness's join storm.)
      for (const identity of [false, true]) {
        runs.push({
          group,
          label: identity ? "tj/key" : "tj/no-key",
          title: `1000 clients joining over TLS${identity ? ", each proving an Ed25519 key" : ""}`,
          idle: true,
          tls: true,
          load: {
            ..._BASE,
            clients: 1000,
            senders: 0,
            hold: 1,
            connectTimeout: 120,
            readBufferBytes: 16384,
            ...(identity ? { identity: true } : {}),
          },
          upToNofile: false,
        });
      }
    }
  }
  return runs;
}

/**
 * The servers the benchmark can run: `chat serve`, or the bare Deno relay of
 * `bench/echo_server.ts` (no chat logic: Deno's own cost per delivery).
 */
export type BenchServer = "chat" | "echo";

/** One server flag the benchmark sets, with its value and why. */
export interface BenchFlag {
  readonly flag: string;
  readonly value: string;
  /** What it changes, with the default. */
  readonly why: string;
}

/** Bytes of output the benchmark lets the server queue per client. */
export const BENCH_SEND_QUEUE_BYTES = 8 * 1024 * 1024;

/**
 * The flags `chat serve` gets in the benchmark beyond address and port: the limits that would
 * measure something other than fan-out (flood control above all). Nothing else is changed.
 */
export const BENCH_SERVER_FLAGS: readonly BenchFlag[] = Object.freeze([
  {
    flag: "--rate-per-second",
    value: "0",
    why: `flood control off (default ${DEFAULT_SERVE_CONFIG.ratePerSecond}/s, burst ` +
      `${DEFAULT_SERVE_CONFIG.rateBurst}): closed-loop senders send thousands per second`,
  },
  {
    flag: "--max-per-ip",
    value: "0",
    why: `no per-address limit (default ${DEFAULT_SERVE_CONFIG.maxPerIp}): every client ` +
      `comes from 127.0.0.1`,
  },
  {
    flag: "--max-clients",
    value: "20000",
    why: `room for the 20,000 connections of c20k (default ${DEFAULT_SERVE_CONFIG.maxClients})`,
  },
  {
    flag: "--send-queue-bytes",
    value: String(BENCH_SEND_QUEUE_BYTES),
    why: `8 MiB queued per client before it is dropped as slow (default ` +
      `${DEFAULT_SERVE_CONFIG.sendQueueBytes / 1048576} MiB), so a load process that falls ` +
      `behind shows as latency, not as kicked clients`,
  },
]);

/**
 * The arguments after `main.ts` that start the server for the benchmark.
 *
 * @returns `serve`, the loopback address, port 0, `--quiet` and {@linkcode BENCH_SERVER_FLAGS}
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { benchServeArgs } from "./scenarios.ts";
 * assert.ok(benchServeArgs().includes("--rate-per-second"));
 * ```
 */
export function benchServeArgs(): string[] {
  return [
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--quiet",
    "--data",
    ":memory:",
    ...BENCH_SERVER_FLAGS.flatMap(({ flag, value }) => [flag, value]),
  ];
}
