/**
 * Test helpers for talking to a chat server over real TCP: wire clients that decode frame64 or
 * lines with bounded waits, an in-process server with short deadlines, `main.ts serve` as a
 * process, and readers of `/proc/PID/status` and `/proc/PID/fd`.
 *
 * Every wait here is bounded in time, and every resource a helper opens is closed by its
 * `close()` (or `stop()`), so Deno's sanitizers stay quiet.
 *
 * @module
 */

import net from "node:net";
import { encodeFrame, HEADER_BYTES } from "../../protocol/frame64.ts";
import { ChatServer, startServer } from "../../server/chat_server.ts";
import { DEFAULT_SERVE_CONFIG, type ServeConfig } from "../../server/config.ts";
import { createLogger, type Logger } from "../../server/log.ts";
import { tempDir } from "./temp.ts";

/** The repository root, where `main.ts` lives. */
export const ROOT: URL = new URL("../../", import.meta.url);

/**
 * `XDG_CONFIG_HOME` and `XDG_DATA_HOME` for every `chat` process a test starts: a temp dir of
 * this test process, so no test ever writes the user's keys, pins or databases.
 */
export const TEST_XDG_ENV: { readonly XDG_CONFIG_HOME: string; readonly XDG_DATA_HOME: string } =
  (() => {
    const dir = tempDir("chat-test-xdg-");
    return { XDG_CONFIG_HOME: `${dir}/config`, XDG_DATA_HOME: `${dir}/data` };
  })();

/** The default bound of every wait, in milliseconds: generous for a loaded 2-core machine. */
export const WAIT_MS = 10_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A JSON event as received, loosely typed so tests can check any field. */
export type WireEvent = Record<string, unknown> & { readonly type: string };

/**
 * Resolves after `ms` milliseconds.
 *
 * @param ms how long to wait
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls a condition until it holds, every `intervalMs`, for at most `timeoutMs`.
 *
 * @param condition the condition
 * @param what what is awaited, for the error
 * @param timeoutMs the bound
 * @param intervalMs the polling interval
 * @throws {Error} when the condition does not hold in time
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = WAIT_MS,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(intervalMs);
  }
}

/**
 * Frames a body as frame64 (64-byte header, then the body).
 *
 * @param body text (sent as UTF-8) or bytes
 * @returns the frame
 */
export function frame(body: string | Uint8Array): Uint8Array {
  return encodeFrame(typeof body === "string" ? encoder.encode(body) : body);
}

/**
 * Parses a frame64 header strictly as the contract says: ASCII digits, then ASCII spaces, 64
 * bytes in all.
 *
 * @param header exactly 64 bytes
 * @returns the body length
 * @throws {SyntaxError} when the header is malformed
 */
export function parseHeader(header: Uint8Array): number {
  const text = decoder.decode(header);
  if (header.length !== HEADER_BYTES || !/^[0-9]* *$/.test(text)) {
    throw new SyntaxError(`Malformed frame64 header from the server: ${JSON.stringify(text)}`);
  }
  const digits = text.trim();
  return digits === "" ? 0 : Number(digits);
}

/** How a {@linkcode WireClient} splits what it receives. */
export type ReadMode = "frame64" | "line";

/** Options of {@linkcode WireClient.connect}. */
export interface ConnectOptions {
  /** How to split what the server sends; frame64 by default. */
  readonly mode?: ReadMode;
  /** The server's address; 127.0.0.1 by default. */
  readonly hostname?: string;
  /** Connect with TLS, trusting this PEM certificate (the server's own, self-signed). */
  readonly tlsCert?: string;
}

/**
 * A test client over real TCP. A background reader splits what the server sends into items
 * (frame64 bodies or lines, as text) and queues them; `next`/`waitFor` take them in order with a
 * bounded wait. Keepalive frames (length 0) are counted apart and not queued.
 */
export class WireClient {
  /** The socket. */
  readonly conn: Deno.TcpConn | Deno.TlsConn;
  /** How incoming bytes are split. */
  readonly mode: ReadMode;
  /** Every item received so far, in order. */
  readonly received: string[] = [];
  /** Keepalive frames received (frame64 mode). */
  keepalives = 0;
  /** Bytes received in all. */
  bytesReceived = 0;
  /** Why reading stopped, when it was an error rather than the end of the stream (a reset). */
  readError: unknown = undefined;
  /** Resolves when the server has closed the connection (or the read failed). */
  readonly closed: Promise<void>;
  #cursor = 0;
  #eof = false;
  #buffer = new Uint8Array(0);
  #wakers = new Set<() => void>();
  #closedByUs = false;

  private constructor(conn: Deno.TcpConn | Deno.TlsConn, mode: ReadMode) {
    this.conn = conn;
    this.mode = mode;
    this.closed = this.#readLoop();
  }

  /**
   * Connects to a server.
   *
   * @param port the server's port
   * @param options framing of the replies and the server's address
   * @returns the connected client, already reading
   */
  static async connect(port: number, options: ConnectOptions = {}): Promise<WireClient> {
    const hostname = options.hostname ?? "127.0.0.1";
    if (options.tlsCert !== undefined) {
      const conn = await Deno.connectTls({ hostname, port, caCerts: [options.tlsCert] });
      await conn.handshake();
      return new WireClient(conn, options.mode ?? "frame64");
    }
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new WireClient(conn, options.mode ?? "frame64");
  }

  /** True once the server has closed the connection. */
  get eof(): boolean {
    return this.#eof;
  }

  /** How many received items have not been taken yet. */
  get pending(): number {
    return this.received.length - this.#cursor;
  }

  /**
   * Writes raw bytes, all of them.
   *
   * @param bytes what to send
   */
  async send(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  /**
   * Sends one frame64 frame.
   *
   * @param body the body, text or bytes
   */
  sendFrame(body: string | Uint8Array): Promise<void> {
    return this.send(frame(body));
  }

  /**
   * Sends one JSON event in a frame.
   *
   * @param event the event
   */
  sendJson(event: Record<string, unknown>): Promise<void> {
    return this.sendFrame(JSON.stringify(event));
  }

  /**
   * Sends one line, LF-terminated.
   *
   * @param text the line without its ending
   */
  sendLine(text: string): Promise<void> {
    return this.send(encoder.encode(text + "\n"));
  }

  /**
   * Takes the next item (body or line).
   *
   * @param timeoutMs the bound
   * @returns the item as text
   * @throws {Error} when nothing arrives in time or the connection ends first
   */
  async next(timeoutMs = WAIT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#cursor >= this.received.length) {
      if (this.#eof) throw new Error(`The server closed the connection; ${this.#seen()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Nothing arrived within ${timeoutMs} ms; ${this.#seen()}`);
      await this.#sleep(left);
    }
    return this.received[this.#cursor++]!;
  }

  /**
   * Takes the next item and parses it as a JSON event.
   *
   * @param timeoutMs the bound
   * @returns the event
   */
  async nextEvent(timeoutMs = WAIT_MS): Promise<WireEvent> {
    return parseEvent(await this.next(timeoutMs));
  }

  /**
   * Skips items until one matches, and takes it.
   *
   * @param match the test
   * @param what what is awaited, for the error
   * @param timeoutMs the bound
   * @returns the matching item
   */
  async waitFor(
    match: (item: string) => boolean,
    what: string,
    timeoutMs = WAIT_MS,
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let item: string;
      try {
        item = await this.next(Math.max(1, deadline - Date.now()));
      } catch (error) {
        throw new Error(`Waiting for ${what}: ${(error as Error).message}`);
      }
      if (match(item)) return item;
    }
  }

  /**
   * Skips events until one matches, and takes it.
   *
   * @param match an event type, or a test
   * @param timeoutMs the bound
   * @returns the matching event
   */
  async waitForEvent(
    match: string | ((event: WireEvent) => boolean),
    timeoutMs = WAIT_MS,
  ): Promise<WireEvent> {
    const test = typeof match === "string" ? (e: WireEvent) => e.type === match : match;
    const what = typeof match === "string" ? `a "${match}" event` : "a matching event";
    return parseEvent(await this.waitFor((item) => test(parseEvent(item)), what, timeoutMs));
  }

  /**
   * Skips lines until one matches, and takes it.
   *
   * @param match a substring or a pattern
   * @param timeoutMs the bound
   * @returns the line
   */
  waitForLine(match: string | RegExp, timeoutMs = WAIT_MS): Promise<string> {
    const test = typeof match === "string"
      ? (line: string) => line.includes(match)
      : (line: string) => match.test(line);
    return this.waitFor(test, `a line matching ${String(match)}`, timeoutMs);
  }

  /**
   * Waits until the server closes the connection.
   *
   * @param timeoutMs the bound
   * @throws {Error} when the connection is still open after the bound
   */
  async waitClosed(timeoutMs = WAIT_MS): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) =>
      timer = setTimeout(resolve, timeoutMs, true)
    );
    const done = await Promise.race([this.closed.then(() => false), timedOut]);
    clearTimeout(timer);
    if (done) throw new Error(`The server did not close the connection within ${timeoutMs} ms`);
  }

  /** Closes the socket (if still open) and waits for the reader to stop. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.#closedByUs) {
      this.#closedByUs = true;
      try {
        this.conn.close();
      } catch {
        // Already closed.
      }
    }
    await this.closed;
  }

  /** Closes the connection; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #seen(): string {
    const rest = this.received.slice(Math.max(0, this.received.length - 8));
    return `last received: ${JSON.stringify(rest)}`;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  #notify(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const count = await this.conn.read(chunk);
        if (count === null) break;
        this.bytesReceived += count;
        this.#push(chunk.subarray(0, count));
        this.#notify();
      }
    } catch (error) {
      // Closed by us, or reset by the server: either way the stream has ended.
      if (!this.#closedByUs) this.readError = error;
    } finally {
      this.#eof = true;
      this.#notify();
    }
  }

  #push(bytes: Uint8Array): void {
    const joined = new Uint8Array(this.#buffer.length + bytes.length);
    joined.set(this.#buffer);
    joined.set(bytes, this.#buffer.length);
    let offset = 0;
    if (this.mode === "line") {
      for (;;) {
        const lf = joined.indexOf(0x0a, offset);
        if (lf < 0) break;
        this.received.push(decoder.decode(joined.subarray(offset, lf)));
        offset = lf + 1;
      }
    } else {
      while (joined.length - offset >= HEADER_BYTES) {
        const length = parseHeader(joined.subarray(offset, offset + HEADER_BYTES));
        if (joined.length - offset - HEADER_BYTES < length) break;
        const start = offset + HEADER_BYTES;
        if (length === 0) this.keepalives++;
        else this.received.push(decoder.decode(joined.subarray(start, start + length)));
        offset = start + length;
      }
    }
    this.#buffer = joined.slice(offset);
  }
}

/**
 * Parses a body as a JSON event.
 *
 * @param body the body text
 * @returns the event
 * @throws {SyntaxError} when it is not a JSON object with a string `type`
 */
export function parseEvent(body: string): WireEvent {
  const value: unknown = JSON.parse(body);
  if (
    typeof value !== "object" || value === null ||
    typeof (value as { type?: unknown }).type !== "string"
  ) {
    throw new SyntaxError(`Not a JSON event: ${JSON.stringify(body)}`);
  }
  return value as WireEvent;
}

/**
 * Connects as a JSON client, sends `hello` and waits for `welcome`.
 *
 * @param port the server's port
 * @param name the name to join as
 * @param options the server's address and extra `hello` fields (`history: true`, ...)
 * @returns the client, with the welcome taken
 */
export async function joinJson(
  port: number,
  name: string,
  options: { readonly hostname?: string; readonly hello?: Record<string, unknown> } = {},
): Promise<{ client: WireClient; welcome: WireEvent }> {
  const client = await WireClient.connect(port, { hostname: options.hostname ?? "127.0.0.1" });
  try {
    await client.sendJson({ type: "hello", name, protocol: 1, ...options.hello });
    const welcome = await client.nextEvent();
    if (welcome.type !== "welcome") {
      throw new Error(`Expected "welcome" for "${name}": ${JSON.stringify(welcome)}`);
    }
    return { client, welcome };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/**
 * Connects as a line client (`nc`) and sends the name as the first line. Does not wait for the
 * welcome (the caller usually checks it).
 *
 * @param port the server's port
 * @param name the first line
 * @returns the client
 */
export async function joinLine(port: number, name: string): Promise<WireClient> {
  const client = await WireClient.connect(port, { mode: "line" });
  await client.sendLine(name);
  return client;
}

/**
 * Connects as a plain frame64 client (the classic socket chat: username first) and sends the
 * name as the first frame.
 *
 * @param port the server's port
 * @param name the first body
 * @returns the client
 */
export async function joinPlain(port: number, name: string): Promise<WireClient> {
  const client = await WireClient.connect(port);
  await client.sendFrame(name);
  return client;
}

/** An in-process server for tests, with its log gathered in memory. */
export interface TestServer {
  /** The server. */
  readonly server: ChatServer;
  /** Its port on 127.0.0.1 (or the host asked for). */
  readonly port: number;
  /** Every log line so far. */
  readonly logLines: string[];
  /** Stops the server; safe to call twice. */
  close(): Promise<void>;
  /** Stops the server; for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts an in-process server on 127.0.0.1, port 0, with the given settings over the defaults,
 * logging into memory (text format unless `config.log` says otherwise).
 *
 * @param config settings to change (short deadlines, small limits)
 * @param logger a logger to use instead of the in-memory one
 * @param options `peerAddress`: every connection (still over 127.0.0.1) is seen by the server as
 *   coming from this address, to test per-address limits
 * @returns the running server
 */
export async function startTestServer(
  config: Partial<ServeConfig> = {},
  logger?: Logger,
  options: { readonly peerAddress?: string } = {},
): Promise<TestServer> {
  // A free TLS port even when a test fixes the plain one: port + 1 may be another test's.
  const full: ServeConfig = {
    ...DEFAULT_SERVE_CONFIG,
    host: "127.0.0.1",
    port: 0,
    tlsPort: 0,
    ...config,
  };
  const logLines: string[] = [];
  const log = logger ?? createLogger({
    format: full.log,
    quiet: full.quiet,
    logMessages: full.logMessages,
    write: (line) => logLines.push(line),
  });
  const server = options.peerAddress === undefined
    ? await startServer(full, { log })
    : new ChatServer(
      full,
      new PeerAddressListener(
        Deno.listen({ hostname: "127.0.0.1", port: 0 }),
        options.peerAddress,
      ) as unknown as Deno.TcpListener,
      log,
    );
  const close = () => server.close();
  return { server, port: server.port, logLines, close, [Symbol.asyncDispose]: close };
}

/**
 * Opens several JSON clients and joins each as `prefix0`, `prefix1`, ...; waits for every
 * welcome.
 *
 * @param port the server's port
 * @param count how many
 * @param prefix the name prefix
 * @returns the clients, in order
 */
export async function joinMany(
  port: number,
  count: number,
  prefix = "user",
): Promise<WireClient[]> {
  const clients: WireClient[] = [];
  try {
    for (let i = 0; i < count; i++) clients.push((await joinJson(port, `${prefix}${i}`)).client);
  } catch (error) {
    await closeAll(clients);
    throw error;
  }
  return clients;
}

/**
 * Closes clients and waits for their readers.
 *
 * @param clients the clients
 */
export async function closeAll(clients: Iterable<WireClient>): Promise<void> {
  await Promise.all([...clients].map((client) => client.close()));
}

// ---- the CLI as a process ----

/** The result of running `main.ts` to completion. */
export interface ChatRun {
  /** The exit code. */
  readonly code: number;
  /** Everything printed on stdout. */
  readonly stdout: string;
  /** Everything printed on stderr. */
  readonly stderr: string;
}

/**
 * Runs `deno run -A main.ts ...args` from the repository root to completion, for at most
 * `timeoutMs`.
 *
 * @param args the arguments after `main.ts`
 * @param timeoutMs the bound; the process is killed after it
 * @returns the exit code and output
 */
export async function runChat(args: readonly string[], timeoutMs = 30_000): Promise<ChatRun> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...TEST_XDG_ENV },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const { code, stdout, stderr } = await command.output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** `main.ts serve` running as a child process. */
export class ServeProcess {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** The port from the banner (0 until it is printed). */
  port = 0;
  #stdout = "";
  #stderr = "";
  #readers: Promise<void>;
  #exited = false;
  #group = false;

  private constructor(child: Deno.ChildProcess, group: boolean) {
    this.child = child;
    this.#group = group;
    this.status = child.status.then((status) => {
      this.#exited = true;
      return status;
    });
    this.#readers = Promise.all([
      this.#collect(child.stdout, (text) => this.#stdout += text),
      this.#collect(child.stderr, (text) => this.#stderr += text),
    ]).then(() => {});
  }

  /**
   * Starts `deno run -A main.ts serve --host 127.0.0.1 --port 0 ...args` (a later `--host` or
   * `--port` in `args` wins) and waits for the banner's first line to learn the port.
   *
   * @param args more `chat serve` arguments
   * @param timeoutMs how long the banner may take
   * @param options `maxOpenFiles`: run it under `ulimit -n` (through `bash`, which `exec`s the
   *   server, so the process id is the server's); `v8Flags`: passed as `--v8-flags` (such as
   *   `--max-old-space-size=32`, so that memory figures are not blurred by a lazily grown heap);
   *   `denoTask`: run `deno task serve ...` as a person does, in a process group of its own
   *   (through `setsid`, so the process id is the group's) for {@linkcode signalGroup}
   * @returns the running server process
   * @throws {Error} when the banner does not appear in time (the process is then stopped)
   */
  static async start(
    args: readonly string[] = [],
    timeoutMs = 30_000,
    options: {
      readonly maxOpenFiles?: number;
      readonly v8Flags?: string;
      readonly denoTask?: boolean;
    } = {},
  ): Promise<ServeProcess> {
    const serve = [
      "run",
      "-A",
      ...(options.v8Flags === undefined ? [] : [`--v8-flags=${options.v8Flags}`]),
      "main.ts",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--data",
      ":memory:",
      ...args,
    ];
    const limited = options.maxOpenFiles !== undefined;
    const script = `ulimit -n ${options.maxOpenFiles} && exec "$0" "$@"`;
    const task = ["task", "--quiet", "serve", ...serve.slice(serve.indexOf("serve") + 1)];
    const child = new Deno.Command(
      options.denoTask ? "setsid" : limited ? "bash" : Deno.execPath(),
      {
        args: options.denoTask
          ? [Deno.execPath(), ...task]
          : limited
          ? ["-c", script, Deno.execPath(), ...serve]
          : serve,
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1", ...TEST_XDG_ENV },
      },
    ).spawn();
    const server = new ServeProcess(child, options.denoTask === true);
    try {
      await waitUntil(
        () => server.#exited || /listening on port (\d+)/.test(server.#stdout),
        "the server's banner",
        timeoutMs,
        20,
      );
      const match = /listening on port (\d+)/.exec(server.#stdout);
      if (match === null) {
        throw new Error(`The server exited before its banner; stderr: ${server.#stderr}`);
      }
      server.port = Number(match[1]);
      return server;
    } catch (error) {
      await server.stop("SIGKILL");
      throw error;
    }
  }

  /**
   * Sends a signal to the whole process group, as a terminal does for Ctrl-C; only for a server
   * started with `denoTask`, whose process leads its own group.
   *
   * @param signal the signal
   */
  signalGroup(signal: Deno.Signal): void {
    Deno.kill(-this.child.pid, signal);
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Everything printed on stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Everything printed on stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /**
   * Waits until stderr has a line matching, for at most `timeoutMs`.
   *
   * @param match a substring or pattern
   * @param timeoutMs the bound
   * @returns the first matching line
   */
  async waitForStderr(match: string | RegExp, timeoutMs = WAIT_MS): Promise<string> {
    const find = () =>
      this.#stderr.split("\n").find((line) =>
        typeof match === "string" ? line.includes(match) : match.test(line)
      );
    try {
      await waitUntil(() => find() !== undefined, `stderr to match ${String(match)}`, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}; stderr so far:\n${this.#stderr}`);
    }
    return find()!;
  }

  /**
   * Sends a signal (if still running) and waits for the exit and the end of its output, for at
   * most `timeoutMs`; kills it if it takes longer.
   *
   * @param signal the signal
   * @param timeoutMs the bound
   * @returns the exit status
   */
  async stop(signal: Deno.Signal = "SIGTERM", timeoutMs = 15_000): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      try {
        if (this.#group) this.signalGroup(signal);
        else this.child.kill(signal);
      } catch {
        // It exited meanwhile.
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => timer = setTimeout(resolve, timeoutMs, "late"));
    const first = await Promise.race([this.status, late]);
    clearTimeout(timer);
    if (first === "late") {
      try {
        if (this.#group) this.signalGroup("SIGKILL");
        else this.child.kill("SIGKILL");
      } catch {
        // It exited meanwhile.
      }
    }
    const status = await this.status;
    await this.#readers;
    return status;
  }

  /**
   * Stops the process with SIGKILL if it is still running (and, for `denoTask`, whatever is left
   * of its group); for `await using`.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
    if (this.#group) {
      try {
        this.signalGroup("SIGKILL");
      } catch {
        // The group is gone.
      }
    }
  }

  async #collect(
    stream: ReadableStream<Uint8Array>,
    append: (text: string) => void,
  ): Promise<void> {
    const textDecoder = new TextDecoder();
    for await (const chunk of stream) append(textDecoder.decode(chunk, { stream: true }));
  }
}

// ---- /proc ----

/**
 * Reads `/proc/PID/status` into its fields (`VmRSS`, `Threads`, ...).
 *
 * @param pid a process id
 * @returns the fields, values trimmed (`"12345 kB"`)
 */
export async function procStatus(pid: number): Promise<Record<string, string>> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const fields: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

/**
 * The resident memory of a process in kilobytes, from `/proc/PID/status`.
 *
 * @param pid a process id
 * @returns `VmRSS` in kB
 */
export async function rssKb(pid: number): Promise<number> {
  const value = (await procStatus(pid)).VmRSS ?? "";
  const kb = Number.parseInt(value, 10);
  if (!Number.isFinite(kb)) throw new Error(`No VmRSS for process ${pid}: "${value}"`);
  return kb;
}

/**
 * How many file descriptors a process has open, from `/proc/PID/fd`.
 *
 * @param pid a process id
 * @returns the count
 */
export async function openFdCount(pid: number): Promise<number> {
  let count = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) count++;
  return count;
}

/** True when `/proc` can be read (Linux). */
export function hasProc(): boolean {
  try {
    Deno.statSync("/proc/self/status");
    return true;
  } catch {
    return false;
  }
}

/**
 * A loopback listener whose connections report another remote address. Every byte still goes
 * over 127.0.0.1; only the address the server sees is changed, so per-address limits (which
 * exempt loopback) can be tested without sending traffic anywhere else.
 */
class PeerAddressListener {
  #inner: Deno.TcpListener;
  #peer: string;

  constructor(inner: Deno.TcpListener, peer: string) {
    this.#inner = inner;
    this.#peer = peer;
  }

  get addr(): Deno.NetAddr {
    return this.#inner.addr;
  }

  async accept(): Promise<Deno.TcpConn> {
    const conn = await this.#inner.accept();
    const peer = this.#peer;
    return new Proxy(conn, {
      get(target, property) {
        if (property === "remoteAddr") return { ...target.remoteAddr, hostname: peer };
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  close(): void {
    this.#inner.close();
  }
}

/** A key a test client proves, as `client/identity.ts` makes it. */
export interface TestIdentity {
  /** The raw public key, base64url. */
  readonly publicKey: string;
  /** `SHA256:` and the key's digest, as the server shows it. */
  readonly fingerprint: string;
  /** Signs a challenge's nonce for a name. */
  sign(nonce: string, name: string): Promise<string>;
}

/**
 * Sends a JSON `hello` with a key and answers the challenge if one comes.
 *
 * @param port the server's port
 * @param name the name asked for
 * @param identity the key to prove
 * @param extra more `hello` fields (a password, a resume)
 * @returns the client and the server's answer after the challenge (or its first, if none came)
 */
export async function joinAs(
  port: number,
  name: string,
  identity: TestIdentity,
  extra: Record<string, unknown> = {},
): Promise<{ client: WireClient; answer: WireEvent }> {
  const client = await WireClient.connect(port);
  await client.sendJson({ type: "hello", name, protocol: 1, key: identity.publicKey, ...extra });
  let answer = await client.nextEvent();
  if (answer.type === "challenge") {
    const signature = await identity.sign(answer.nonce as string, name);
    await client.sendJson({ type: "auth", signature });
    answer = await client.nextEvent();
  }
  return { client, answer };
}

/**
 * Sends one frame64 body from a chosen loopback address (node:net can bind the local side, which
 * `Deno.connect` cannot) and takes the first JSON event answered.
 *
 * @param port the server's port
 * @param localAddress the 127.0.0.0/8 address to connect from
 * @param body the frame's body
 * @param timeoutMs how long to wait for an answer
 * @returns the first event (null when the connection closed or timed out first) and how long it took
 */
export function firstEventFrom(
  port: number,
  localAddress: string,
  body: string,
  timeoutMs: number,
): Promise<{ event: WireEvent | null; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    let buffer = new Uint8Array(0);
    let settled = false;
    const done = (event: WireEvent | null) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ event, ms: performance.now() - started });
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on("connect", () => socket.write(frame(body)));
    socket.on("data", (chunk: Uint8Array) => {
      const next = new Uint8Array(buffer.length + chunk.length);
      next.set(buffer);
      next.set(chunk, buffer.length);
      buffer = next;
      if (buffer.length < HEADER_BYTES) return;
      const length = parseHeader(buffer.subarray(0, HEADER_BYTES));
      if (buffer.length < HEADER_BYTES + length) return;
      done(
        JSON.parse(new TextDecoder().decode(buffer.subarray(HEADER_BYTES, HEADER_BYTES + length))),
      );
    });
    socket.on("error", () => done(null));
    socket.on("close", () => done(null));
  });
}
