/**
 * Helpers for the adversarial suite (`tests/adversarial/`): raw headers and sockets, bystanders
 * that chat through an attack and report loss, order and delay, a server process under a low
 * `ulimit -n`, CPU and memory figures from `/proc`, and a Python peer that resets its
 * connections. Built on `./net.ts`; every wait is bounded and every resource is closed.
 *
 * @module
 */

import { HEADER_BYTES } from "../../protocol/frame64.ts";
import {
  delay,
  joinJson,
  ROOT,
  TEST_XDG_ENV,
  waitUntil,
  type WireClient,
  type WireEvent,
} from "./net.ts";

const encoder = new TextEncoder();

/**
 * A frame64 header from raw text, right-padded with spaces to 64 bytes (or cut to 64). Lets a
 * test write headers no honest encoder makes (`-1`, `0x10`, `999999999999`).
 *
 * @param text the header's first bytes, as UTF-8 (or Latin-1 bytes given as a Uint8Array)
 * @returns exactly 64 bytes
 */
export function rawHeader(text: string | Uint8Array): Uint8Array {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  const header = new Uint8Array(HEADER_BYTES).fill(0x20);
  header.set(bytes.subarray(0, HEADER_BYTES));
  return header;
}

/**
 * Joins byte arrays into one.
 *
 * @param parts the arrays, in order
 * @returns a new array holding all of them
 */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Opens a raw TCP connection that nothing reads from (a slow reader, a slowloris, a scanner).
 *
 * @param port the server's port
 * @param hostname the server's address
 * @returns the socket; the caller closes it
 */
export async function rawConnect(port: number, hostname = "127.0.0.1"): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname, port });
  conn.setNoDelay(true);
  return conn;
}

/**
 * Writes all of `bytes`; a peer that closed or reset the connection ends the write quietly.
 *
 * @param conn the socket
 * @param bytes what to write
 * @returns true when everything was written
 */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    let offset = 0;
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a raw socket until the peer closes it, for at most `timeoutMs`.
 *
 * @param conn the socket (closed afterwards)
 * @param timeoutMs the bound
 * @param maxBytes stop collecting (but keep reading) beyond this many bytes
 * @returns what was read and whether the peer closed it in time (EOF or reset)
 */
export async function readUntilClosed(
  conn: Deno.Conn,
  timeoutMs: number,
  maxBytes = 1 << 20,
): Promise<{ bytes: Uint8Array; closed: boolean }> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(16 * 1024);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(resolve, timeoutMs, "late"));
  let closed = false;
  try {
    for (;;) {
      const result = await Promise.race([conn.read(buffer), late]);
      if (result === "late") break;
      if (result === null) {
        closed = true;
        break;
      }
      if (total < maxBytes) parts.push(buffer.slice(0, result));
      total += result;
    }
  } catch {
    closed = true; // Reset by the peer.
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
  return { bytes: concat(...parts), closed };
}

/**
 * Runs tasks with at most `limit` of them under way at once.
 *
 * @param count how many tasks
 * @param limit how many at once
 * @param task the task, given its index
 */
export async function runPool(
  count: number,
  limit: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/** What {@linkcode Bystanders.stop} found. */
export interface BystanderReport {
  /** Messages sent. */
  readonly sent: number;
  /** Messages received, in the order they arrived. */
  readonly received: number;
  /** True when every message arrived exactly once and in order. */
  readonly inOrder: boolean;
  /** Sequence numbers that never arrived. */
  readonly missing: readonly number[];
  /** The worst delay between sending and receiving, in milliseconds. */
  readonly maxDelayMs: number;
  /** The median delay, in milliseconds. */
  readonly medianDelayMs: number;
  /** Leave events the receiver saw, as `name:reason`. */
  readonly leaves: readonly string[];
  /**
   * The worst lateness of a 50 ms timer in the test process itself while the bystanders ran.
   * A delay the test process caused by being starved of CPU (its own attack, or a loaded
   * machine) is not the server stalling others, so {@linkcode assertBystandersUnharmed} allows
   * for it.
   */
  readonly ownLagMs: number;
}

/**
 * Asserts that the bystanders lost nothing, in order, and that no message took longer than
 * `boundMs` beyond what the test process's own scheduling lag explains.
 *
 * @param report what {@linkcode Bystanders.stop} reported
 * @param boundMs the longest delay the server may add
 */
export function assertBystandersUnharmed(report: BystanderReport, boundMs: number): void {
  if (!report.inOrder) {
    throw new Error(`bystanders lost or reordered: ${JSON.stringify(report)}`);
  }
  if (report.maxDelayMs >= boundMs + report.ownLagMs) {
    throw new Error(
      `bystander delay ${report.maxDelayMs} ms, over ${boundMs} ms plus the test process's own ` +
        `lag of ${report.ownLagMs} ms`,
    );
  }
}

const _LAG_TICK_MS = 50;

/**
 * Two well-behaved JSON clients that chat while a test attacks the server: the talker sends a
 * numbered message every `intervalMs`, the listener records when each arrives. `stop()` waits
 * for the last one and reports loss, order and delay, so a test can say "others lose nothing,
 * in order, without noticeable delay".
 */
export class Bystanders {
  /** The talker. */
  readonly talker: WireClient;
  /** The listener. */
  readonly listener: WireClient;
  /** Every event the listener took, in order (messages included). */
  readonly events: WireEvent[] = [];
  #talkerName: string;
  #sent = 0;
  #sentAt: number[] = [];
  #arrivals: { seq: number; delay: number }[] = [];
  #stopping = false;
  #talking: Promise<void>;
  #listening: Promise<void>;
  #keepalive: Promise<void>;
  #ownLagMs = 0;
  #lagTimer: ReturnType<typeof setInterval>;

  private constructor(
    talker: WireClient,
    listener: WireClient,
    name: string,
    intervalMs: number,
    keepaliveMs: number,
  ) {
    this.talker = talker;
    this.listener = listener;
    this.#talkerName = name;
    this.#talking = this.#talk(intervalMs);
    this.#listening = this.#listen();
    this.#keepalive = keepaliveMs > 0 ? this.#ping(keepaliveMs) : Promise.resolve();
    let expected = Date.now() + _LAG_TICK_MS;
    this.#lagTimer = setInterval(() => {
      const now = Date.now();
      this.#ownLagMs = Math.max(this.#ownLagMs, now - expected);
      expected = now + _LAG_TICK_MS;
    }, _LAG_TICK_MS);
  }

  /**
   * Joins the two clients (`<prefix>talk` and `<prefix>listen`) and starts chatting.
   *
   * @param port the server's port
   * @param options the server's address, the name prefix, the message interval (250 ms by
   *   default, under the default rate limit of 5 a second), how often the listener sends a
   *   `ping` so that a short idle timeout does not close it (never by default), and extra
   *   `hello` fields (a server's `password`)
   * @returns the running bystanders
   */
  static async start(
    port: number,
    options: {
      hostname?: string;
      prefix?: string;
      intervalMs?: number;
      keepaliveMs?: number;
      hello?: Record<string, unknown>;
    } = {},
  ): Promise<Bystanders> {
    const prefix = options.prefix ?? "by";
    const join = { hostname: options.hostname ?? "127.0.0.1", hello: options.hello ?? {} };
    const listener = (await joinJson(port, `${prefix}listen`, join)).client;
    let talker: WireClient;
    try {
      talker = (await joinJson(port, `${prefix}talk`, join)).client;
      await listener.waitForEvent((e) => e.type === "join" && e.name === `${prefix}talk`);
    } catch (error) {
      await listener.close();
      throw error;
    }
    return new Bystanders(
      talker,
      listener,
      `${prefix}talk`,
      options.intervalMs ?? 250,
      options.keepaliveMs ?? 0,
    );
  }

  /** Messages sent so far. */
  get sent(): number {
    return this.#sent;
  }

  /**
   * Waits until the listener has received at least `count` messages.
   *
   * @param count how many
   * @param timeoutMs the bound
   */
  waitForMessages(count: number, timeoutMs = 10_000): Promise<void> {
    return waitUntil(
      () => this.#arrivals.length >= count,
      `${count} bystander messages`,
      timeoutMs,
    );
  }

  /**
   * Stops talking, waits (at most `timeoutMs`) for every message sent to arrive, closes both
   * clients and reports.
   *
   * @param timeoutMs how long the last messages may take
   * @returns the report
   */
  async stop(timeoutMs = 10_000): Promise<BystanderReport> {
    this.#stopping = true;
    clearInterval(this.#lagTimer);
    await Promise.all([this.#talking, this.#keepalive]);
    try {
      await waitUntil(
        () => this.#arrivals.length >= this.#sent || this.listener.eof,
        "the bystanders' last message",
        timeoutMs,
      );
    } catch {
      // Reported as missing below.
    }
    await Promise.all([this.talker.close(), this.listener.close()]);
    await this.#listening;
    const seqs = this.#arrivals.map((a) => a.seq);
    const inOrder = seqs.length === this.#sent && seqs.every((seq, i) => seq === i);
    const seen = new Set(seqs);
    const missing: number[] = [];
    for (let i = 0; i < this.#sent; i++) if (!seen.has(i)) missing.push(i);
    const delays = this.#arrivals.map((a) => a.delay).sort((a, b) => a - b);
    return {
      sent: this.#sent,
      received: seqs.length,
      inOrder,
      missing,
      maxDelayMs: delays.length === 0 ? 0 : delays[delays.length - 1]!,
      medianDelayMs: delays.length === 0 ? 0 : delays[Math.floor(delays.length / 2)]!,
      leaves: this.events.filter((e) => e.type === "leave").map((e) => `${e.name}:${e.reason}`),
      ownLagMs: this.#ownLagMs,
    };
  }

  /** Stops and closes; for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#stopping) await this.stop(0);
  }

  async #talk(intervalMs: number): Promise<void> {
    while (!this.#stopping && !this.talker.eof) {
      const seq = this.#sent;
      this.#sentAt.push(Date.now());
      this.#sent++;
      const text = `bystander ${seq}`;
      try {
        await this.talker.sendJson({ type: "say", text });
        // One message in flight, as a person types: a server that was stalled and then reads a
        // backlog at once would otherwise refuse part of it as a flood, which is not loss.
        await this.talker.waitForEvent((e) => e.type === "message" && e.text === text, 10_000);
      } catch {
        break;
      }
      await delay(intervalMs);
    }
  }

  async #ping(intervalMs: number): Promise<void> {
    while (!this.#stopping && !this.listener.eof) {
      try {
        await this.listener.sendJson({ type: "ping" });
      } catch {
        break;
      }
      await delay(intervalMs);
    }
  }

  async #listen(): Promise<void> {
    for (;;) {
      let event: WireEvent;
      try {
        event = await this.listener.nextEvent(1000);
      } catch {
        if (this.listener.eof) return;
        continue;
      }
      this.events.push(event);
      if (event.type !== "message" || event.from !== this.#talkerName) continue;
      const seq = Number(String(event.text).replace("bystander ", ""));
      const sentAt = this.#sentAt[seq] ?? Date.now();
      this.#arrivals.push({ seq, delay: Date.now() - sentAt });
    }
  }
}

/**
 * `chat join` (`main.ts join`) as a process in piped mode, without colours: what it prints on
 * stdout is exactly what would reach a person's terminal. It stays in the room until
 * {@linkcode JoinWatcher.finish} closes its input (it then says `bye` and exits).
 */
export class JoinWatcher {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdout = "";
  #stderr = "";
  readonly #reading: Promise<unknown>;

  /**
   * Starts `chat join 127.0.0.1:PORT --name NAME --no-reconnect` with piped stdio.
   *
   * @param port the server's port
   * @param name the name to join as
   */
  constructor(port: number, name: string) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "join", `127.0.0.1:${port}`, "--name", name, "--no-reconnect"],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...TEST_XDG_ENV },
      signal: AbortSignal.timeout(60_000),
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    const collect = (stream: ReadableStream<Uint8Array>, append: (text: string) => void) =>
      stream.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (text) => append(text) }),
      );
    this.#reading = Promise.all([
      collect(this.#child.stdout, (text) => this.#stdout += text),
      collect(this.#child.stderr, (text) => this.#stderr += text),
    ]);
  }

  /** What it has printed on stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** What it has printed on stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /**
   * Closes its input and waits for it to exit (at most its 60 s limit).
   *
   * @returns its exit code and everything it printed
   */
  async finish(): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      await this.#stdin.close();
    } catch {
      // It exited already.
    }
    const { code } = await this.#child.status;
    await this.#reading;
    return { code, stdout: this.#stdout, stderr: this.#stderr };
  }
}

// ---- /proc figures ----

/**
 * Prints a measured figure (peak RSS, timings) on stderr when `CHAT_TEST_FIGURES` is set, so
 * a person can collect the suite's figures without making every run noisy.
 *
 * @param name what was measured
 * @param value the figure, with its unit
 */
export function reportFigure(name: string, value: string): void {
  let wanted = false;
  try {
    wanted = (Deno.env.get("CHAT_TEST_FIGURES") ?? "") !== "";
  } catch {
    // No permission to read the environment: stay quiet.
  }
  if (wanted) Deno.stderr.writeSync(encoder.encode(`figure: ${name}: ${value}\n`));
}

/**
 * A process's CPU time (user plus system) in seconds, from `/proc/PID/stat`.
 *
 * @param pid a process id
 * @param ticksPerSecond the kernel's clock ticks per second (100 on Linux)
 * @returns the CPU seconds used so far
 */
export async function cpuSeconds(pid: number, ticksPerSecond = 100): Promise<number> {
  const text = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/**
 * One memory figure of a process in kB from `/proc/PID/status`: `VmRSS` (resident now),
 * `VmHWM` (peak resident), `VmSize` (virtual now) or `VmPeak` (peak virtual).
 *
 * @param pid a process id
 * @param field the field
 * @returns the value in kB
 */
export async function memoryKb(
  pid: number,
  field: "VmRSS" | "VmHWM" | "VmSize" | "VmPeak",
): Promise<number> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = new RegExp(`^${field}:\\s*(\\d+) kB`, "m").exec(text);
  if (match === null) throw new Error(`No ${field} for process ${pid}`);
  return Number(match[1]);
}

// ---- python ----

/** True when `python3` can be run. */
export async function hasPython(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("python3", {
      args: ["-c", "pass"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/**
 * Runs a Python program to completion (at most `timeoutMs`), with `args` after it.
 *
 * @param program the program text (`python3 -c`)
 * @param args its arguments (`sys.argv[1:]`)
 * @param timeoutMs the bound
 * @returns the exit code and output
 */
export async function runPython(
  program: string,
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: ["-c", program, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** The repository root as a path, for child processes. */
export const ROOT_PATH: string = ROOT.pathname;
