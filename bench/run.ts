/**
 * One run of the benchmark: a fresh `chat serve` process and one load process, with the
 * server's CPU time and memory sampled from `/proc` every 200 ms and at each phase.
 *
 * @module
 */

import { BenchProcess, type StopResult } from "./child.ts";
import type { LoadEvent, LoadResult } from "./load.ts";
import { type ProcSample, readSlabKb, sampleProcess } from "./proc.ts";
import type { KernelStats, LoadProcessStats, RunRecord, ServerStats } from "./report.ts";
import { benchServeArgs, type BenchServer, type Scenario } from "./scenarios.ts";
import { V8_FLAGS } from "../tools/runtime_flags.ts";

/** Where things are and how to run them; the same for every run of one benchmark. */
export interface RunEnvironment {
  /** The project's root directory (holding `main.ts`), with a trailing slash. */
  readonly root: string;
  /** The `deno` executable. */
  readonly deno: string;
  /**
   * The server under test: `chat` (`main.ts serve`) or `echo` (`bench/echo_server.ts`, the bare
   * Deno relay that shows Deno's own cost per delivery).
   */
  readonly server: BenchServer;
  /** Cores for the server and the load process; null to leave them unpinned. */
  readonly serverCpu: number | null;
  readonly loadCpu: number | null;
  /** The open-file limit asked for, and the one the children really get (null if unknown). */
  readonly nofileAsked: number;
  readonly nofile: number | null;
  /** Clock ticks per second of `/proc/PID/stat`. */
  readonly clockTicks: number;
  /** Progress messages for a person. */
  readonly log: (line: string) => void;
}

const _SAMPLE_MS = 200;
const _START_TIMEOUT_MS = 30_000;
const _SETTLE_MS = 500;
const _JOINED_SAMPLE_DELAY_MS = 1000;
const _STOP_GRACE_MS = 5000;
const _PORT_LINE = /listening on port (\d+)/;
/** The banner's second line when TLS is on. */
const _TLS_LINE = /^TLS on port (\d+), certificate (SHA256:\S+)$/;

function _sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Samples of both processes at one phase event. */
interface _PhaseSample {
  readonly server: ProcSample | null;
  readonly load: ProcSample | null;
  readonly second: ProcSample | null;
  readonly redis: ProcSample | null;
}

/**
 * The load process's CPU time as it reported it with a phase event, in the shape of a sample
 * (its `at` is on the load's own clock, which only matters for differences between its events).
 */
function _selfReported(event: Partial<LoadEvent>, ticks: number): ProcSample | null {
  if (typeof event.t !== "number" || typeof event.cpuUs !== "number") return null;
  return { at: event.t, cpuTicks: (event.cpuUs * ticks) / 1e6, rssKb: 0, hwmKb: 0, threads: 0 };
}

/** The command-line arguments of `bench/load.ts` for a scenario. */
function _loadArgs(
  scenario: Scenario,
  port: number,
  tls: { port: number; fingerprint: string } | null,
  port2 = 0,
): string[] {
  const l = scenario.load;
  if (scenario.tls === true && tls === null) {
    throw new Error("The server printed no TLS port, so a TLS scenario cannot run");
  }
  return [
    "--port",
    String(scenario.tls === true && tls !== null ? tls.port : port),
    ...(port2 > 0 ? ["--port2", String(port2)] : []),
    ...(scenario.tls === true && tls !== null ? ["--tls-fingerprint", tls.fingerprint] : []),
    ...(l.identity === true ? ["--identity"] : []),
    "--clients",
    String(l.clients),
    "--senders",
    String(l.senders),
    "--rate",
    String(l.rate),
    "--window",
    String(l.window),
    "--warmup",
    String(l.warmup),
    "--duration",
    String(l.duration),
    "--drain",
    String(l.drain),
    "--hold",
    String(l.hold),
    "--batch",
    String(l.batch),
    "--connect-timeout",
    String(l.connectTimeout),
    "--stall",
    String(l.stall),
    "--read-buffer",
    String(l.readBufferBytes),
    "--rooms",
    String(l.rooms),
  ];
}

/** The CPU seconds between two samples, and the share of one core that is. */
function _cpu(
  from: ProcSample | null | undefined,
  to: ProcSample | null | undefined,
  ticks: number,
): { seconds: number | null; pct: number | null } {
  if (!from || !to) return { seconds: null, pct: null };
  const seconds = (to.cpuTicks - from.cpuTicks) / ticks;
  const wall = (to.at - from.at) / 1000;
  return {
    seconds: Math.round(seconds * 100) / 100,
    pct: wall > 0 ? Math.round((1000 * seconds) / wall) / 10 : null,
  };
}

/** Waits for the server's first stdout line and reads the port from it. */
function _portFrom(
  server: BenchProcess,
  firstLine: Promise<string>,
): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Server did not print its port within ${_START_TIMEOUT_MS / 1000} s`)),
      _START_TIMEOUT_MS,
    );
  });
  const exited = server.status.then((status) => {
    throw new Error(`Server exited with code ${status.code} before listening`);
  });
  const port = firstLine.then((line) => {
    const match = _PORT_LINE.exec(line);
    if (match === null) {
      throw new Error(`Server's first line does not name its port: ${JSON.stringify(line)}`);
    }
    return Number(match[1]);
  });
  return Promise.race([port, exited, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs one scenario against a fresh server process and returns everything measured. Never
 * throws for a failed run: the record's `error` says what went wrong. Both processes are
 * stopped before it returns.
 *
 * @param scenario what to run
 * @param env where things are and how to run them
 * @returns the record of the run
 */
export async function runScenario(scenario: Scenario, env: RunEnvironment): Promise<RunRecord> {
  const needed = scenario.load.clients + 200;
  const skipped = (error: string): RunRecord => ({
    label: scenario.label,
    group: scenario.group,
    title: scenario.title,
    idle: scenario.idle,
    loadOptions: scenario.load,
    server: _emptyServerStats(),
    loadProcess: {
      cpuPctWindow: null,
      cpuSecondsJoin: null,
      peakRssKb: null,
      exitCode: null,
      stderrTail: null,
    },
    kernel: null,
    result: null,
    error,
  });
  if (env.nofile !== null && env.nofile < needed && !scenario.upToNofile) {
    return skipped(
      `Skipped: the open-file limit is ${env.nofile} but this run needs about ${needed} ` +
        `per process (asked for ${env.nofileAsked}; raise the hard limit with 'ulimit -Hn')`,
    );
  }

  let error: string | null = null;
  let redis: LocalRedis | null = null;
  if (scenario.cluster === true) {
    try {
      redis = await LocalRedis.start(env.serverCpu);
    } catch (caught) {
      return skipped(`Skipped: ${caught instanceof Error ? caught.message : String(caught)}`);
    }
  }
  const cluster = redis === null
    ? []
    : ["--redis", redis.url, "--cluster", `bench${Date.now().toString(36)}`];
  let resolveFirstLine: (line: string) => void = () => {};
  const firstLine = new Promise<string>((resolve) => resolveFirstLine = resolve);
  // The banner is one write, so its second line (TLS) has arrived when the first has.
  let tlsBanner: { port: number; fingerprint: string } | null = null;
  let bannerLines = 0;
  let sawFirstLine = false;
  const spawnAt = performance.now();
  let server: BenchProcess;
  try {
    server = BenchProcess.spawn({
      argv: [
        env.deno,
        "run",
        `--v8-flags=${V8_FLAGS.join(",")}`,
        "-A",
        ...(env.server === "echo"
          ? [`${env.root}bench/echo_server.ts`, "--port", "0"]
          : [`${env.root}main.ts`, ...benchServeArgs(), ...cluster]),
      ],
      cpu: env.serverCpu,
      nofile: env.nofileAsked,
      cwd: env.root,
      onLine: (line) => {
        if (++bannerLines === 2) {
          const match = _TLS_LINE.exec(line);
          if (match !== null) tlsBanner = { port: Number(match[1]), fingerprint: match[2]! };
        }
        if (!sawFirstLine) {
          sawFirstLine = true;
          resolveFirstLine(line);
        }
      },
    });
  } catch (caught) {
    await redis?.stop();
    return skipped(`Could not start the server: ${String(caught)}`);
  }
  // A cluster run has a second node of the same cluster; only its port is read from its banner.
  let second: { process: BenchProcess; firstLine: Promise<string> } | null = null;
  if (redis !== null) {
    let resolveSecond: (line: string) => void = () => {};
    const secondLine = new Promise<string>((resolve) => resolveSecond = resolve);
    let sawSecond = false;
    try {
      second = {
        process: BenchProcess.spawn({
          argv: [
            env.deno,
            "run",
            `--v8-flags=${V8_FLAGS.join(",")}`,
            "-A",
            `${env.root}main.ts`,
            ...benchServeArgs(),
            ...cluster,
          ],
          cpu: env.serverCpu,
          nofile: env.nofileAsked,
          cwd: env.root,
          onLine: (line) => {
            if (!sawSecond) {
              sawSecond = true;
              resolveSecond(line);
            }
          },
        }),
        firstLine: secondLine,
      };
    } catch (caught) {
      await server.stop(_STOP_GRACE_MS);
      await redis.stop();
      return skipped(`Could not start the second node: ${String(caught)}`);
    }
  }

  let startMs: number | null = null;
  let base: ProcSample | null = null;
  let end: ProcSample | null = null;
  let joinedSample: ProcSample | null = null;
  let slabBase: number | null = null;
  let slabJoined: number | null = null;
  const samples: ProcSample[] = [];
  const secondSamples: ProcSample[] = [];
  const loadSamples: ProcSample[] = [];
  const phases = new Map<string, _PhaseSample>();
  let result: LoadResult | null = null;
  let load: BenchProcess | null = null;
  let loadExit: number | null = null;
  let sampler: ReturnType<typeof setInterval> | undefined;
  let joinedTimer: ReturnType<typeof setTimeout> | undefined;
  let stop: StopResult;
  const keep = (sample: ProcSample | null, into: ProcSample[]) => {
    if (sample !== null) into.push(sample);
    return sample;
  };
  try {
    const port = await _portFrom(server, firstLine);
    const port2 = second === null ? 0 : await _portFrom(second.process, second.firstLine);
    startMs = Math.round(performance.now() - spawnAt);
    await _sleep(_SETTLE_MS);
    base = keep(sampleProcess(server.pid), samples);
    if (base === null) throw new Error("Server exited right after start-up");
    slabBase = readSlabKb();
    sampler = setInterval(() => {
      keep(sampleProcess(server.pid), samples);
      if (second !== null) keep(sampleProcess(second.process.pid), secondSamples);
      if (load !== null && !load.exited) keep(sampleProcess(load.pid), loadSamples);
    }, _SAMPLE_MS);

    const onLine = (line: string) => {
      let message: { event?: string; result?: LoadResult } & Partial<LoadEvent>;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.result !== undefined) {
        result = message.result;
        return;
      }
      if (typeof message.event !== "string") return;
      phases.set(message.event, {
        server: keep(sampleProcess(server.pid), samples),
        load: _selfReported(message, env.clockTicks),
        second: second === null ? null : keep(sampleProcess(second.process.pid), secondSamples),
        redis: redis === null ? null : sampleProcess(redis.pid),
      });
      if (message.event === "hold_start") {
        joinedTimer = setTimeout(() => {
          joinedSample = keep(sampleProcess(server.pid), samples);
          slabJoined = readSlabKb();
        }, _JOINED_SAMPLE_DELAY_MS);
      }
    };
    load = BenchProcess.spawn({
      argv: [
        env.deno,
        "run",
        "--allow-net=127.0.0.1",
        `${env.root}bench/load.ts`,
        ..._loadArgs(scenario, port, tlsBanner, port2),
      ],
      cpu: env.loadCpu,
      nofile: env.nofileAsked,
      cwd: env.root,
      onLine,
    });
    const l = scenario.load;
    const boundS = l.connectTimeout + l.warmup + l.duration + l.drain + l.hold + 30;
    if (!(await load.waitFor(boundS * 1000))) {
      error = `Load process exceeded ${boundS} s and was killed`;
      await load.stop(1000);
    }
    loadExit = (await load.status).code;
    await load.drained;
    end = keep(sampleProcess(server.pid), samples);
    if (result === null && error === null) {
      error = `Load process exited with code ${loadExit} without a result: ${
        load.stderrTail.trim().split("\n").slice(-3).join(" / ")
      }`;
    }
    if (end === null) error ??= "Server died during the run";
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  } finally {
    clearInterval(sampler);
    clearTimeout(joinedTimer);
    try {
      if (load !== null && !load.exited) await load.stop(1000);
      if (load !== null) await load.drained;
    } finally {
      if (second !== null) {
        await second.process.stop(_STOP_GRACE_MS);
        await second.process.drained;
      }
      stop = await server.stop(_STOP_GRACE_MS);
      await server.drained;
      await redis?.stop();
    }
  }
  if (stop.killed) {
    env.log(`  the server did not stop within ${_STOP_GRACE_MS / 1000} s of SIGTERM`);
  }

  const window = _cpu(
    phases.get("measure_start")?.server,
    phases.get("measure_end")?.server,
    env.clockTicks,
  );
  const loadWindow = _cpu(
    phases.get("measure_start")?.load,
    phases.get("measure_end")?.load,
    env.clockTicks,
  );
  const finalResult = result as LoadResult | null;
  const nodes = second === null ? undefined : {
    cpuSecondsWindow: [
      window.seconds,
      _cpu(
        phases.get("measure_start")?.second,
        phases.get("measure_end")?.second,
        env.clockTicks,
      ).seconds,
    ],
    redisCpuSecondsWindow: _cpu(
      phases.get("measure_start")?.redis,
      phases.get("measure_end")?.redis,
      env.clockTicks,
    ).seconds,
  };
  const joined = finalResult?.joined ?? 0;
  const rssJoined = (joinedSample as ProcSample | null)?.rssKb ?? null;
  const serverStats: ServerStats = {
    startMs,
    rssBaseKb: base?.rssKb ?? null,
    rssMaxKb: samples.length === 0 ? null : Math.max(...samples.map((s) => s.rssKb)),
    peakRssKb: samples.length === 0 ? null : Math.max(...samples.map((s) => s.hwmKb)),
    threadsMax: samples.length === 0 ? null : Math.max(...samples.map((s) => s.threads)),
    cpuSecondsRun: _cpu(base, end, env.clockTicks).seconds,
    cpuSecondsJoin: _cpu(base, phases.get("settled")?.server, env.clockTicks).seconds,
    cpuSecondsWindow: window.seconds,
    cpuPctWindow: window.pct,
    rssJoinedKb: scenario.idle ? rssJoined : null,
    rssPerConnKb: scenario.idle && rssJoined !== null && base !== null && joined > 0
      ? Math.round((100 * (rssJoined - base.rssKb)) / joined) / 100
      : null,
    exitCode: stop.code,
    exitSignal: stop.signal,
    stopMs: stop.ms,
    killed: stop.killed,
    stderrTail: error !== null || stop.killed || stop.code !== 0 ? server.stderrTail : null,
  };
  const loadSettled = phases.get("settled")?.load;
  const loadStats: LoadProcessStats = {
    cpuPctWindow: loadWindow.pct,
    cpuSecondsJoin: loadSettled === null || loadSettled === undefined
      ? null
      : Math.round((100 * loadSettled.cpuTicks) / env.clockTicks) / 100,
    peakRssKb: loadSamples.length === 0 ? null : Math.max(...loadSamples.map((s) => s.hwmKb)),
    exitCode: loadExit,
    stderrTail: error !== null ? (load as BenchProcess | null)?.stderrTail ?? null : null,
  };
  const slabDelta = slabBase !== null && slabJoined !== null ? slabJoined - slabBase : null;
  const kernel: KernelStats | null = scenario.idle && slabDelta !== null && joined > 0
    ? {
      slabDeltaKb: slabDelta,
      slabPerSocketKb: Math.round((100 * slabDelta) / (2 * joined)) / 100,
    }
    : null;
  return {
    label: scenario.label,
    group: scenario.group,
    title: scenario.title,
    idle: scenario.idle,
    loadOptions: scenario.load,
    server: serverStats,
    loadProcess: loadStats,
    kernel,
    result: finalResult,
    error,
    ...(nodes === undefined ? {} : { nodes }),
  };
}

function _emptyServerStats(): ServerStats {
  return {
    startMs: null,
    rssBaseKb: null,
    rssMaxKb: null,
    peakRssKb: null,
    threadsMax: null,
    cpuSecondsRun: null,
    cpuSecondsJoin: null,
    cpuSecondsWindow: null,
    cpuPctWindow: null,
    rssJoinedKb: null,
    rssPerConnKb: null,
    exitCode: null,
    exitSignal: null,
    stopMs: null,
    killed: false,
    stderrTail: null,
  };
}

/** A `redis-server` of the benchmark's own: a free port, a temporary directory, no saving. */
class LocalRedis {
  readonly url: string;
  readonly #child: Deno.ChildProcess;
  readonly #dir: string;

  private constructor(child: Deno.ChildProcess, port: number, dir: string) {
    this.#child = child;
    this.url = `redis://127.0.0.1:${port}`;
    this.#dir = dir;
  }

  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Starts one, pinned with the servers (it is part of the server side), and waits for it.
   *
   * @throws {Error} when `redis-server` is missing or does not answer
   */
  static async start(cpu: number | null): Promise<LocalRedis> {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const dir = await Deno.makeTempDir({ prefix: "chat-bench-redis-" });
    const argv = [
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cpu === null ? argv[0]! : "taskset", {
        args: cpu === null ? argv.slice(1) : ["-c", String(cpu), ...argv],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch {
      await Deno.remove(dir, { recursive: true });
      throw new Error("redis-server is not installed (apt-get install redis-server)");
    }
    const redis = new LocalRedis(child, port, dir);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conn.close();
        return redis;
      } catch {
        if (Date.now() > deadline) {
          await redis.stop();
          throw new Error(`redis-server did not listen on port ${port} within 10 s`);
        }
        await _sleep(20);
      }
    }
  }

  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await this.#child.status;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
