/**
 * The soak benchmark (issue 6, condition 20): `chat serve` with 1,000 clients chatting for ten
 * minutes, its resident memory sampled every 10 s. After a warm-up the curve must be flat. It
 * is a benchmark, not a test: run it by hand, `deno run -A bench/soak.ts [--minutes 10]
 * [--clients 1000]`, and read the curve.
 *
 * The server runs as a process (`main.ts serve --quiet`), the clients in a second process
 * (`bench/load.ts`, which checks that every client gets every message, in order), each pinned to
 * its own core when `taskset` allows. This process only samples `/proc` and reports.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { parseFlags } from "../flags/flags.ts";
import { UsageError } from "../flags/usage_error.ts";
import { parseNumber } from "../flags/values.ts";
import { soakChart, writeCharts } from "./charts.ts";
import { BenchProcess, canPin, effectiveNofile } from "./child.ts";
import type { LoadResult } from "./load.ts";
import { clockTicksPerSecond, sampleProcess } from "./proc.ts";

/** What one soak run does. Durations in the names' units. */
export interface SoakOptions {
  /** How long the clients chat. */
  readonly minutes: number;
  /** How many clients join; every one of them chats. */
  readonly clients: number;
  /** Messages per second from all clients together. */
  readonly rate: number;
  /** Seconds between two samples of the server. */
  readonly interval: number;
  /** Minutes of warm-up at the start, left out of the flatness verdict. */
  readonly warmup: number;
  /** Whether to pin the server and the clients to cores 0 and 1. */
  readonly pin: boolean;
  /**
   * Where to write the samples as JSON; the memory chart goes next to it. Null for
   * `bench/results/soak.json`.
   */
  readonly output: string | null;
}

/** The defaults: the ten minutes with 1,000 clients. */
export const DEFAULT_SOAK_OPTIONS: SoakOptions = Object.freeze({
  minutes: 10,
  clients: 1000,
  rate: 50,
  interval: 10,
  warmup: 2,
  pin: true,
  output: null,
});

/** The help of the soak benchmark. */
export const SOAK_HELP = `bench/soak.ts: the soak benchmark of chat serve

Usage: deno run -A bench/soak.ts [options]

Starts 'chat serve' on a free port, joins --clients JSON clients that all chat (--rate
messages a second in all, each client in turn) for --minutes, samples the server's resident
memory and CPU every --interval seconds, and prints the curve. After --warmup minutes the
curve must be flat: the server's memory may grow by at most 4 MiB or 5 %, whichever is more,
over the rest of the run. Also checks that every client got every message, in order. Exit
code 0 when the curve is flat and nothing was lost, 1 otherwise, 2 for a usage mistake.
Linux only (it reads /proc).

Options (defaults in brackets):
  --minutes M      how long the clients chat [${DEFAULT_SOAK_OPTIONS.minutes}]
  --clients N      clients, all of them chatting [${DEFAULT_SOAK_OPTIONS.clients}]
  --rate R         messages per second from all clients together [${DEFAULT_SOAK_OPTIONS.rate}]
  --interval S     seconds between samples [${DEFAULT_SOAK_OPTIONS.interval}]
  --warmup M       minutes left out of the verdict [${DEFAULT_SOAK_OPTIONS.warmup}, or a fifth of
                   --minutes when that is shorter]
  --no-pin         do not pin the server and the clients to cores 0 and 1
  --output FILE    where to write the samples as JSON; the memory chart (an SVG) is written
                   next to it [bench/results/soak.json]
  -h, --help       show this help
`;

const _FLAGS = {
  "minutes": { type: "string" },
  "clients": { type: "string" },
  "rate": { type: "string" },
  "interval": { type: "string" },
  "warmup": { type: "string" },
  "no-pin": { type: "boolean" },
  "output": { type: "string" },
  "help": { type: "boolean", short: "h" },
} as const;

/**
 * Reads the soak benchmark's arguments.
 *
 * @param args the command-line arguments
 * @returns the options, or null when `--help` was asked for
 * @throws {UsageError} for an unknown flag or a value out of range
 * @example A short run with fewer clients
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSoakArgs } from "./soak.ts";
 * const options = parseSoakArgs(["--minutes", "1", "--clients", "100"]);
 * assert.ok(options !== null && options.clients === 100 && options.warmup === 0.2);
 * ```
 */
export function parseSoakArgs(args: readonly string[]): SoakOptions | null {
  const { values } = parseFlags(args, _FLAGS, 0);
  if (values.help) return null;
  const d = DEFAULT_SOAK_OPTIONS;
  const positive = (flag: string, text: string | undefined, fallback: number) =>
    text === undefined
      ? fallback
      : parseNumber(`--${flag}`, text, { integer: false, min: 0, aboveMin: true });
  const minutes = positive("minutes", values.minutes, d.minutes);
  const clients = values.clients === undefined
    ? d.clients
    : parseNumber("--clients", values.clients, { integer: true, min: 2, max: 100_000 });
  const warmup = values.warmup === undefined
    ? Math.min(d.warmup, minutes / 5)
    : parseNumber("--warmup", values.warmup, { integer: false, min: 0 });
  if (warmup >= minutes) {
    throw new UsageError(
      `The --warmup must be shorter than the --minutes, but "${warmup}" is not below "${minutes}"`,
    );
  }
  return {
    minutes,
    clients,
    rate: positive("rate", values.rate, d.rate),
    interval: positive("interval", values.interval, d.interval),
    warmup,
    pin: !values["no-pin"],
    output: values.output ?? null,
  };
}

/** One look at the server. */
export interface SoakSample {
  /** Seconds since the clients started chatting. */
  readonly t: number;
  /** Resident memory in KiB. */
  readonly rssKb: number;
  /** CPU use since the previous sample, in percent of one core. */
  readonly cpuPct: number;
}

/** Whether a memory curve is flat after its warm-up, and why. */
export interface Flatness {
  /** True when the memory did not grow beyond the bound after the warm-up. */
  readonly flat: boolean;
  /** Samples after the warm-up. */
  readonly samples: number;
  /** The least-squares trend after the warm-up, in KiB per minute. */
  readonly slopeKbPerMin: number;
  /** The trend times the time after the warm-up, in KiB. */
  readonly trendGrowthKb: number;
  /** The last sample minus the first one after the warm-up, in KiB. */
  readonly endGrowthKb: number;
  /** The growth allowed: the larger of 4 MiB and 5 % of the mean. */
  readonly boundKb: number;
}

/**
 * Judges whether resident memory is flat after a warm-up: neither its least-squares trend over
 * the rest of the run nor its last-minus-first difference may exceed the larger of 4 MiB and 5 %
 * of its mean. Fewer than three samples after the warm-up are never judged flat.
 *
 * @param samples the samples, in time order
 * @param warmupSeconds the warm-up to leave out
 * @returns the verdict and its figures
 * @example A curve that levels off, and one that keeps climbing
 * ```ts
 * import assert from "node:assert/strict";
 * import { judgeFlatness } from "./soak.ts";
 * const level = [50, 60, 61, 61, 60, 61].map((mb, i) => ({ t: i * 60, rssKb: mb * 1024, cpuPct: 0 }));
 * assert.ok(judgeFlatness(level, 60).flat);
 * const leak = [50, 60, 70, 80, 90, 100].map((mb, i) => ({ t: i * 60, rssKb: mb * 1024, cpuPct: 0 }));
 * assert.ok(!judgeFlatness(leak, 60).flat);
 * ```
 */
export function judgeFlatness(samples: readonly SoakSample[], warmupSeconds: number): Flatness {
  const after = samples.filter((s) => s.t >= warmupSeconds);
  const n = after.length;
  if (n < 3) {
    return {
      flat: false,
      samples: n,
      slopeKbPerMin: 0,
      trendGrowthKb: 0,
      endGrowthKb: 0,
      boundKb: 0,
    };
  }
  const meanT = after.reduce((sum, s) => sum + s.t, 0) / n;
  const meanRss = after.reduce((sum, s) => sum + s.rssKb, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of after) {
    covariance += (s.t - meanT) * (s.rssKb - meanRss);
    variance += (s.t - meanT) ** 2;
  }
  const slopePerSecond = variance === 0 ? 0 : covariance / variance;
  const span = after[n - 1]!.t - after[0]!.t;
  const trendGrowthKb = slopePerSecond * span;
  const endGrowthKb = after[n - 1]!.rssKb - after[0]!.rssKb;
  const boundKb = Math.max(4096, 0.05 * meanRss);
  return {
    flat: trendGrowthKb <= boundKb && endGrowthKb <= boundKb,
    samples: n,
    slopeKbPerMin: slopePerSecond * 60,
    trendGrowthKb,
    endGrowthKb,
    boundKb,
  };
}

const _MIB = 1024;

function _mib(kb: number): string {
  return (kb / _MIB).toFixed(1);
}

/**
 * Runs the soak: server, clients, samples, verdict.
 *
 * @param options what to run
 * @param log where the report goes, one call per line or block
 * @returns the exit code: 0 when the curve is flat and no message was lost, 1 otherwise
 */
export async function runSoak(options: SoakOptions, log: (text: string) => void): Promise<number> {
  if (Deno.build.os !== "linux") {
    log("The soak benchmark reads /proc to measure the server, so it runs on Linux only");
    return 1;
  }
  const root = decodeURIComponent(new URL("../", import.meta.url).pathname);
  const deno = Deno.execPath();
  const pinned = options.pin && navigator.hardwareConcurrency >= 2 && await canPin(0) &&
    await canPin(1);
  const nofile = await effectiveNofile(Math.max(4096, options.clients * 2 + 256));
  const ticks = await clockTicksPerSecond();
  const perSender = options.rate / options.clients;
  log(
    `chat soak: ${options.clients} clients chatting for ${options.minutes} min, ` +
      `${options.rate} messages/s in all (one every ${(1 / perSender).toFixed(1)} s each), ` +
      `server sampled every ${options.interval} s, warm-up ${options.warmup} min; ` +
      (pinned ? "server on core 0, clients on core 1" : "not pinned") +
      `; Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
  );

  let port = 0;
  const server = BenchProcess.spawn({
    argv: [
      deno,
      "run",
      "-A",
      "main.ts",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--quiet",
      "--data",
      ":memory:",
    ],
    cpu: pinned ? 0 : null,
    nofile,
    cwd: root,
    onLine: (line) => {
      const match = /listening on port (\d+)/.exec(line);
      if (match !== null && port === 0) port = Number(match[1]);
    },
  });
  let load: BenchProcess | null = null;
  try {
    const deadline = Date.now() + 30_000;
    while (port === 0 && !server.exited && Date.now() < deadline) await _sleep(20);
    if (port === 0) {
      log(`The server did not start: ${server.stderrTail}`);
      return 1;
    }
    let result: LoadResult | null = null;
    let chatting = false;
    let joinedLine = "";
    load = BenchProcess.spawn({
      argv: [
        deno,
        "run",
        "-A",
        "bench/load.ts",
        "--port",
        String(port),
        "--clients",
        String(options.clients),
        "--senders",
        String(options.clients),
        "--rate",
        String(perSender),
        "--warmup",
        "0",
        "--duration",
        String(options.minutes * 60),
        "--drain",
        "10",
        "--connect-timeout",
        "300",
        "--read-buffer",
        "16384",
      ],
      cpu: pinned ? 1 : null,
      nofile,
      cwd: root,
      onLine: (line) => {
        let parsed: { event?: string; result?: LoadResult; [key: string]: unknown };
        try {
          parsed = JSON.parse(line);
        } catch {
          return;
        }
        if (parsed.result !== undefined) result = parsed.result;
        if (parsed.event === "joined") {
          joinedLine = `${parsed.joined} of ${parsed.clients} joined in ${parsed.joinMs} ms`;
        }
        if (parsed.event === "measure_start") chatting = true;
      },
    });

    // Wait for the chat to start, then sample until the clients are done.
    while (!chatting && !load.exited) await _sleep(50);
    log(joinedLine === "" ? "The clients did not join" : `Joined: ${joinedLine}`);
    const samples: SoakSample[] = [];
    const started = performance.now();
    let previous = sampleProcess(server.pid);
    log("\n     t   RSS MiB   CPU %");
    const record = () => {
      const now = sampleProcess(server.pid);
      if (now === null || previous === null) return;
      const seconds = (now.at - previous.at) / 1000;
      const cpuPct = seconds > 0 ? ((now.cpuTicks - previous.cpuTicks) / ticks) / seconds * 100 : 0;
      const sample = {
        t: Math.round((performance.now() - started) / 1000),
        rssKb: now.rssKb,
        cpuPct,
      };
      samples.push(sample);
      previous = now;
      log(
        `${String(sample.t).padStart(6)}   ${_mib(sample.rssKb).padStart(7)}   ` +
          cpuPct.toFixed(1).padStart(5),
      );
    };
    record();
    let next = started + options.interval * 1000;
    while (!load.exited && performance.now() - started < options.minutes * 60_000 + 1000) {
      await Promise.race([load.status, _sleep(Math.max(0, next - performance.now()))]);
      if (performance.now() >= next) {
        record();
        next += options.interval * 1000;
      }
    }
    await load.waitFor(60_000);
    await load.drained;
    const peakKb = sampleProcess(server.pid)?.hwmKb ?? 0;

    const verdict = judgeFlatness(samples, options.warmup * 60);
    const after = samples.filter((s) => s.t >= options.warmup * 60);
    const cpuMean = after.reduce((sum, s) => sum + s.cpuPct, 0) / Math.max(1, after.length);
    log(
      `\nServer memory after the ${options.warmup}-minute warm-up: ` +
        `${_mib(Math.min(...after.map((s) => s.rssKb)))} to ` +
        `${_mib(Math.max(...after.map((s) => s.rssKb)))} MiB, trend ` +
        `${(verdict.slopeKbPerMin / _MIB).toFixed(2)} MiB/min ` +
        `(${_mib(verdict.trendGrowthKb)} MiB over the run), last minus first ` +
        `${_mib(verdict.endGrowthKb)} MiB, allowed ${_mib(verdict.boundKb)} MiB; ` +
        `peak (VmHWM) ${_mib(peakKb)} MiB; mean CPU ${cpuMean.toFixed(1)} % of a core`,
    );
    log(`Memory ${verdict.flat ? "FLAT" : "NOT FLAT"} after warm-up`);
    log(await _writeSamples(root, options, samples, verdict));
    const r = result as LoadResult | null;
    if (r === null) {
      log(`The clients gave no result: ${load.stderrTail}`);
      return 1;
    }
    const lat = r.latencyUs;
    const ms = (us: number | null) => us === null ? "-" : (us / 1000).toFixed(1);
    const lost = r.expected - r.delivered;
    log(
      `Clients: ${r.joined} joined, ${r.sent} messages sent, ${r.delivered} of ${r.expected} ` +
        `deliveries arrived (${lost} lost), ${r.reordered} reordered, ${r.gaps} gaps, ` +
        `${r.corrupt} corrupt, ${r.leaves} leaves, ${r.serverErrors} errors, ` +
        `${r.eofs} closed by the server; latency p50 ${ms(lat.p50)} ms, p99 ${ms(lat.p99)} ms, ` +
        `max ${ms(lat.max)} ms`,
    );
    const ok = verdict.flat && r.joined === options.clients && lost === 0 &&
      r.reordered === 0 && r.gaps === 0 && r.leaves === 0;
    return ok ? 0 : 1;
  } finally {
    await load?.stop(5000);
    await load?.drained;
    const stopped = await server.stop(5000);
    await server.drained;
    if (stopped.code !== 0) log(`The server exited with ${stopped.code}: ${server.stderrTail}`);
  }
}

/** Writes the samples and the verdict as JSON, and the memory chart next to them. */
async function _writeSamples(
  root: string,
  options: SoakOptions,
  samples: readonly SoakSample[],
  verdict: Flatness,
): Promise<string> {
  const output = options.output === null
    ? `${root}bench/results/soak.json`
    : resolve(options.output);
  await Deno.mkdir(dirname(output), { recursive: true });
  const date = new Date().toISOString();
  await Deno.writeTextFile(
    output,
    JSON.stringify(
      { meta: { date, deno: Deno.version.deno, options }, verdict, samples },
      null,
      2,
    ) +
      "\n",
  );
  const chart = await soakChart(
    samples,
    options.warmup * 60,
    `${options.clients} clients, ${options.rate} msg/s, ${options.minutes} min, ${
      date.slice(0, 10)
    }`,
  );
  const [svg] = await writeCharts(output, [chart]);
  return `Samples: ${output}\nChart: ${svg}`;
}

function _sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function _main(args: readonly string[]): Promise<number> {
  // deno-lint-ignore no-console
  const log = (text: string) => console.log(text);
  let options: SoakOptions | null;
  try {
    options = parseSoakArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // deno-lint-ignore no-console
    console.error(`${error.message}\nRun with --help for the options`);
    return 2;
  }
  if (options === null) {
    log(SOAK_HELP);
    return 0;
  }
  return await runSoak(options, log);
}

if (import.meta.main) {
  Deno.exit(await _main(Deno.args));
}
