/**
 * Child processes for the text-client tests: a Python tutorial client fed through its stdin as
 * its person would type, and a `chat join --json` member that reads NDJSON events and sends
 * NDJSON client events. Every wait is bounded; `close()` ends the process whatever its state.
 *
 * @module
 */

import { ROOT, waitUntil, type WireEvent } from "./net.ts";
import { tempDir } from "./temp.ts";

const encoder = new TextEncoder();

/**
 * Why python3 cannot run here, or undefined when it can.
 *
 * @returns the reason, for a test's `ignore`
 */
export function pythonMissing(): string | undefined {
  try {
    const { success } = new Deno.Command("python3", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return success ? undefined : "python3 --version failed";
  } catch (error) {
    return error instanceof Deno.errors.NotFound
      ? "python3 is not installed"
      : `python3 cannot be run: ${(error as Error).message}`;
  }
}

/** A process with piped stdio whose output is gathered as it comes. */
class PipedProcess {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdout = "";
  #stderr = "";
  readonly #reading: Promise<unknown>;
  #exited = false;

  constructor(command: string, args: string[], env: Record<string, string>, lifetimeMs = 60_000) {
    this.#child = new Deno.Command(command, {
      args,
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", PYTHONUNBUFFERED: "1", ...env },
      signal: AbortSignal.timeout(lifetimeMs),
    }).spawn();
    void this.#child.status.then(() => this.#exited = true);
    this.#stdin = this.#child.stdin.getWriter();
    const gather = (stream: ReadableStream<Uint8Array>, add: (text: string) => void) =>
      stream.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (text) => add(text) }),
      );
    this.#reading = Promise.all([
      gather(this.#child.stdout, (text) => this.#stdout += text),
      gather(this.#child.stderr, (text) => this.#stderr += text),
    ]);
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Types a line on the process's stdin. */
  async type(line: string): Promise<void> {
    await this.#stdin.write(encoder.encode(line + "\n"));
  }

  /** Waits until stdout matches, for at most `timeoutMs`. */
  async waitForStdout(match: string | RegExp, timeoutMs = 15_000): Promise<void> {
    const found = () =>
      typeof match === "string" ? this.#stdout.includes(match) : match.test(this.#stdout);
    try {
      await waitUntil(found, `stdout to match ${String(match)}`, timeoutMs);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}; stdout: ${JSON.stringify(this.#stdout)}; stderr: ${
          JSON.stringify(this.#stderr)
        }`,
      );
    }
  }

  /** Waits for the exit (at most `timeoutMs`, then kills it); stdin is closed first. */
  async finish(timeoutMs = 15_000): Promise<number> {
    try {
      await this.#stdin.close();
    } catch {
      // It exited already.
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => timer = setTimeout(resolve, timeoutMs, "late"));
    const first = await Promise.race([this.#child.status, late]);
    clearTimeout(timer);
    if (first === "late") this.kill();
    const { code } = await this.#child.status;
    await this.#reading;
    return code;
  }

  /** Kills the process if it still runs. */
  kill(): void {
    if (this.#exited) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // It exited meanwhile.
    }
  }

  /** Ends the process and waits for its output. */
  async close(): Promise<void> {
    this.kill();
    await this.finish(5000);
  }
}

/** A seed tutorial's client (`tests/tutorials/NAME.py PORT`) run by python3. */
export class TutorialClient extends PipedProcess {
  /**
   * @param script the file name under `tests/tutorials/`
   * @param port the server's port
   */
  constructor(script: string, port: number) {
    super("python3", [new URL(`tests/tutorials/${script}`, ROOT).pathname, String(port)], {});
  }
}

/** Options of a {@linkcode JsonMember}. */
export interface JsonMemberOptions {
  /** Runs the command through another (`unshare` with a hosts file of its own, say). */
  readonly wrap?: (command: string, args: string[]) => [string, string[]];
  /** How long the process may live before it is killed, in milliseconds (60 s). */
  readonly lifetimeMs?: number;
}

/**
 * `chat join ADDRESS --name NAME --json` as a process, its config and data directories in a
 * temporary directory. Its stdout is read as NDJSON events.
 */
export class JsonMember extends PipedProcess {
  readonly #home: string;

  /**
   * @param address the server's port on 127.0.0.1, or the addresses as `chat join` takes them
   * @param name the member's name
   * @param options a wrapper command, and how long it may run
   */
  constructor(address: number | string, name: string, options: JsonMemberOptions = {}) {
    const home = tempDir("chat-member-");
    const target = typeof address === "number" ? `127.0.0.1:${address}` : address;
    const args = ["run", "-A", "main.ts", "join", target, "--name", name, "--json"];
    const [command, wrapped] = options.wrap?.(Deno.execPath(), args) ?? [Deno.execPath(), args];
    super(
      command,
      wrapped,
      { XDG_CONFIG_HOME: `${home}/config`, XDG_DATA_HOME: `${home}/data`, HOME: home },
      options.lifetimeMs,
    );
    this.#home = home;
  }

  /** Every event printed so far. */
  get events(): WireEvent[] {
    return this.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) =>
      JSON.parse(line) as WireEvent
    );
  }

  /**
   * Waits for an event that satisfies `predicate`, for at most `timeoutMs`.
   *
   * @returns the first such event
   */
  async waitForEvent(
    predicate: (event: WireEvent) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<WireEvent> {
    try {
      await waitUntil(() => this.events.some(predicate), what, timeoutMs);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}; events: ${this.stdout}; stderr: ${this.stderr}`,
      );
    }
    return this.events.find(predicate)!;
  }

  /** Waits for a chat message from `from` with exactly `text`. */
  waitForMessage(from: string, text: string): Promise<WireEvent> {
    return this.waitForEvent(
      (e) => e.type === "message" && e.from === from && e.text === text,
      `"${from}: ${text}"`,
    );
  }

  /** Says something to the room. */
  say(text: string): Promise<void> {
    return this.type(JSON.stringify({ type: "say", text }));
  }

  /** Ends the process and removes its directory. */
  override async close(): Promise<void> {
    await super.close();
    await Deno.remove(this.#home, { recursive: true }).catch(() => {});
  }
}
