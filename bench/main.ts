/**
 * `deno task bench`: measures how fast `chat serve` fans messages out. For each scenario it
 * starts `main.ts serve` as its own process (pinned to core 0), runs `bench/load.ts` as
 * another (pinned to core 1), samples the server's CPU and memory from `/proc`, prints a table
 * and writes a JSON summary to `bench/results/latest.json`, with SVG charts of it next to it.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { parseFlags } from "../flags/flags.ts";
import { UsageError } from "../flags/usage_error.ts";
import { VERSION } from "../flags/version.ts";
import { benchCharts, writeCharts } from "./charts.ts";
import { canPin, effectiveNofile } from "./child.ts";
import { clockTicksPerSecond } from "./proc.ts";
import { clusterLines, renderTables, type RunRecord } from "./report.ts";
import { type RunEnvironment, runScenario } from "./run.ts";
import {
  BENCH_SERVER_FLAGS,
  benchServeArgs,
  type BenchServer,
  SCENARIO_GROUPS,
  scenariosFor,
} from "./scenarios.ts";
import { V8_FLAGS } from "../tools/runtime_flags.ts";

/** The open-file limit the benchmark asks for, for the server and the load process alike. */
export const NOFILE_WANTED = 65536;

/** What `deno task bench` was asked to do. */
export interface BenchArgs {
  /** Short windows and fewer idle connections. */
  readonly quick: boolean;
  /** The scenarios to run: some of {@linkcode SCENARIO_GROUPS}. */
  readonly groups: readonly string[];
  /** Where to write the JSON summary; null for `bench/results/latest.json`. */
  readonly output: string | null;
  /** Whether to pin the server and the load process to cores 0 and 1. */
  readonly pin: boolean;
  /** The server under test: `chat serve`, or the bare Deno relay for comparison. */
  readonly server: BenchServer;
}

const _FLAGS = {
  "quick": { type: "boolean" },
  "scenarios": { type: "string" },
  "output": { type: "string" },
  "no-pin": { type: "boolean" },
  "server": { type: "string" },
  "help": { type: "boolean", short: "h" },
} as const;

/** The usage line of the benchmark. */
export const BENCH_USAGE =
  "Usage: deno task bench [--quick] [--scenarios a,b,r,m,c,j,c20k,tj,cluster] [--output FILE]";

/** The help of `deno task bench`. */
export const BENCH_HELP = `chat benchmark: fan-out throughput, latency and memory of 'chat serve'

${BENCH_USAGE}

Each scenario gets a fresh 'main.ts serve' process, pinned to core 0 with taskset, and a
load process (bench/load.ts) pinned to core 1 that connects JSON clients over 127.0.0.1:
  a  100 clients, 10 senders, closed loop with 8 in flight each, 64-byte texts, 10 s (+2 s warm-up)
  b  1000 clients, 5 senders at 200 msg/s each (999k deliveries/s offered), 10 s (+2 s warm-up)
  r  1000 clients, 5 senders at 10 msg/s each (50k deliveries/s): a real chat's rate, every
     message its own write to every member, 10 s (+2 s warm-up)
  m  1000 clients in 10 rooms, 2 senders per room at 250 msg/s each (495k deliveries/s offered),
     10 s (+2 s warm-up); any message that reaches another room is counted as CROSS-ROOM
  c  5000 idle joined connections (RSS per idle connection)
  j  join storm: 10,000 connections, time until every welcome (and every join notice)
  c20k  20,000 connections, or as many as the open-file limit lets one process open
  tj 1000 clients joining over TLS, without and with an Ed25519 identity each (joins/s)
  cluster  b's load on two 'serve --redis' nodes and a local redis-server (both nodes and
     Redis on core 0), the clients split over them; compared with b (run too when not chosen)
Scenario a also runs over TLS (a/tls), so plain and TLS server CPU per delivery sit side by side, and a and b
with a temporary data dir (a/disk, b/disk) beside --data :memory:.

Options:
  --quick              3 s windows; c, j and c20k with 500, 2000 and 3000 connections
  --scenarios LIST     which scenarios to run, comma-separated (default: all)
  --output FILE        where to write the JSON summary (default: bench/results/latest.json)
  --no-pin             do not pin the processes to cores
  --server echo        run the scenarios against bench/echo_server.ts instead: a bare Deno
                       relay of chat serve's bytes with no chat logic, whose cost per
                       delivery, per join and per idle connection is Deno's own
  -h, --help           show this help

The server runs with limits lifted that would measure something other than fan-out:
${BENCH_SERVER_FLAGS.map(({ flag, value, why }) => `  ${flag} ${value}: ${why}`).join("\n")}
`;

/**
 * Reads the benchmark's arguments.
 *
 * @param args the arguments after `bench/main.ts`
 * @returns what to run, or null when `--help` was asked for
 * @throws {UsageError} for an unknown option, a plain argument or an unknown scenario
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBenchArgs } from "./main.ts";
 * const args = parseBenchArgs(["--quick", "--scenarios", "a,b"]);
 * assert.ok(args !== null && args.quick && args.groups.join() === "a,b");
 * ```
 */
export function parseBenchArgs(args: readonly string[]): BenchArgs | null {
  const { values } = parseFlags(args, _FLAGS, 0);
  if (values.help) return null;
  const groups = values.scenarios === undefined
    ? [...SCENARIO_GROUPS]
    : values.scenarios.split(",").map((group) => group.trim()).filter((group) => group !== "");
  scenariosFor(groups, false);
  const server = values.server ?? "chat";
  if (server !== "chat" && server !== "echo") {
    throw new UsageError(`The --server is "chat" or "echo": "${server}"`);
  }
  return {
    quick: values.quick ?? false,
    groups,
    output: values.output ?? null,
    pin: !(values["no-pin"] ?? false),
    server,
  };
}

function _cpuModel(): string | null {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    return /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * Runs the benchmark and writes its summary.
 *
 * @param args what to run
 * @param log where progress and the tables go (one call per block of text)
 * @returns the exit code: 0 if every run produced a result, 1 otherwise
 */
export async function runBench(args: BenchArgs, log: (text: string) => void): Promise<number> {
  if (Deno.build.os !== "linux") {
    log("The benchmark reads /proc to measure the server, so it runs on Linux only");
    return 1;
  }
  const root = new URL("../", import.meta.url);
  const rootPath = decodeURIComponent(root.pathname);
  const cores = navigator.hardwareConcurrency;
  const pinned = args.pin && cores >= 2 && await canPin(0) && await canPin(1);
  const nofile = await effectiveNofile(NOFILE_WANTED);
  const env: RunEnvironment = {
    root: rootPath,
    deno: Deno.execPath(),
    server: args.server,
    serverCpu: pinned ? 0 : null,
    loadCpu: pinned ? 1 : null,
    nofileAsked: NOFILE_WANTED,
    nofile,
    clockTicks: await clockTicksPerSecond(),
    log,
  };
  // The bare relay speaks no TLS: runs over TLS are for chat serve only.
  const scenarios = scenariosFor(args.groups, args.quick)
    .filter((scenario) => args.server === "chat" || scenario.tls !== true);
  const output = args.output === null
    ? decodeURIComponent(new URL("bench/results/latest.json", root).pathname)
    : resolve(args.output);

  const lines = [
    `chat ${VERSION} benchmark${args.quick ? " (--quick)" : ""}: Deno ${Deno.version.deno}, ` +
    `${cores} cores (${_cpuModel() ?? "unknown CPU"})`,
    `Server: deno run --v8-flags=${V8_FLAGS.join(",")} -A ` +
    (args.server === "echo"
      ? "bench/echo_server.ts --port 0 (the bare relay: no chat logic, no limits)"
      : `main.ts ${benchServeArgs().join(" ")}`),
    pinned
      ? "Pinned: server to core 0, load process to core 1 (taskset)"
      : `Not pinned (${args.pin ? "taskset or a second core is missing" : "--no-pin"}): ` +
        "server and load share the cores",
    `Open-file limit for both processes: ${nofile ?? "unknown"} (asked for ${NOFILE_WANTED})` +
    (nofile !== null && nofile < NOFILE_WANTED ? "; the hard limit is lower" : ""),
    "Limits changed for the benchmark (everything else is the default):",
    ...BENCH_SERVER_FLAGS.map(({ flag, value, why }) => `  ${flag} ${value}: ${why}`),
  ];
  log(lines.join("\n"));

  const records: RunRecord[] = [];
  for (const scenario of scenarios) {
    const l = scenario.load;
    const about = scenario.idle ? "" : ` (about ${l.warmup + l.duration + l.drain + 3} s)`;
    log(`\nRunning ${scenario.label}: ${scenario.title}${about}`);
    const record = await runScenario(scenario, env);
    records.push(record);
    log(renderTables([record]));
  }

  log(`\nSummary\n\n${renderTables(records)}`);
  const cluster = clusterLines(records);
  if (cluster.length > 0) log(`\n${cluster.join("\n")}`);
  const summary = {
    meta: {
      date: new Date().toISOString(),
      chat: VERSION,
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      os: `${Deno.build.os} ${Deno.osRelease()}`,
      cpu: _cpuModel(),
      cores,
      pinned,
      nofile,
      quick: args.quick,
      server: args.server,
      serverArgs: benchServeArgs(),
      limitsChanged: BENCH_SERVER_FLAGS,
      clockTicks: env.clockTicks,
    },
    runs: records,
  };
  await Deno.mkdir(dirname(output), { recursive: true });
  await Deno.writeTextFile(output, JSON.stringify(summary, null, 2) + "\n");
  log(`\nJSON summary: ${output}`);
  const charts = await writeCharts(output, await benchCharts(summary));
  if (charts.length > 0) log(`Charts:\n${charts.map((path) => `  ${path}`).join("\n")}`);
  return records.every((record) => record.error === null && record.result !== null) ? 0 : 1;
}

async function _main(argv: readonly string[]): Promise<number> {
  // deno-lint-ignore no-console
  const log = (text: string) => console.log(text);
  let args: BenchArgs | null;
  try {
    args = parseBenchArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // deno-lint-ignore no-console
    console.error(`${error.message}\n${BENCH_USAGE}`);
    return 2;
  }
  if (args === null) {
    log(BENCH_HELP);
    return 0;
  }
  return await runBench(args, log);
}

if (import.meta.main) {
  Deno.exit(await _main(Deno.args));
}
