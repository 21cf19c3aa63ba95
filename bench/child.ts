/**
 * The benchmark's child processes (the server and the load process): started pinned to a core
 * with a raised open-file limit, read line by line, stopped with SIGTERM and then SIGKILL.
 *
 * @module
 */

/** How to start a {@linkcode BenchProcess}. */
export interface SpawnOptions {
  /** The program and its arguments. */
  readonly argv: readonly string[];
  /** The core to pin it to with `taskset`; null for no pinning. */
  readonly cpu: number | null;
  /** The open-file limit to ask for (the hard limit is used if that is lower); null to keep. */
  readonly nofile: number | null;
  /** Its working directory. */
  readonly cwd?: string;
  /** Called with each line it prints on stdout, without the newline. */
  readonly onLine?: (line: string) => void;
}

/** How a {@linkcode BenchProcess} ended. */
export interface StopResult {
  readonly code: number;
  readonly signal: string | null;
  /** True if SIGTERM was not enough. */
  readonly killed: boolean;
  /** From the stop request until it had exited. */
  readonly ms: number;
}

const _STDERR_TAIL_CHARS = 4000;

/** The shell line that raises the open-file limit as far as allowed, then runs the program. */
function _ulimitScript(nofile: number): string {
  return `ulimit -n ${nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
}

/**
 * The full command line for a child: `taskset -c CPU` when pinned, and `bash -c 'ulimit ...;
 * exec "$@"'` when a limit is asked for. Each wrapper `exec`s the next, so the child's pid is
 * the program's own.
 *
 * @param options the program, core and limit
 * @returns the argv to run
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wrapArgv } from "./child.ts";
 * const argv = wrapArgv({ argv: ["deno", "--version"], cpu: 1, nofile: null });
 * assert.ok(argv.join(" ") === "taskset -c 1 deno --version");
 * ```
 */
export function wrapArgv(options: Pick<SpawnOptions, "argv" | "cpu" | "nofile">): string[] {
  let argv = [...options.argv];
  if (options.nofile !== null) {
    argv = ["bash", "-c", _ulimitScript(options.nofile), "bench", ...argv];
  }
  if (options.cpu !== null) argv = ["taskset", "-c", String(options.cpu), ...argv];
  return argv;
}

/**
 * The open-file limit a child started with {@linkcode wrapArgv} gets.
 *
 * @param nofile the limit asked for
 * @returns the limit in force in such a child, or null if it cannot be found out
 */
export async function effectiveNofile(nofile: number): Promise<number | null> {
  try {
    const { stdout } = await new Deno.Command("bash", {
      args: ["-c", _ulimitScript(nofile), "bench", "bash", "-c", "ulimit -n"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const value = Number(new TextDecoder().decode(stdout).trim());
    return Number.isSafeInteger(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * Tells whether `taskset` can pin a process to the given core here.
 *
 * @param cpu the core
 * @returns true if `taskset -c CPU true` succeeds
 */
export async function canPin(cpu: number): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("taskset", {
      args: ["-c", String(cpu), "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

async function _forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let newline = rest.indexOf("\n");
    while (newline >= 0) {
      onLine(rest.slice(0, newline));
      rest = rest.slice(newline + 1);
      newline = rest.indexOf("\n");
    }
  }
  if (rest !== "") onLine(rest);
}

/**
 * A running child process whose stdout is handed over line by line and whose stderr's end is
 * kept for error reports.
 *
 * @example Run a command and read its output
 * ```ts
 * import assert from "node:assert/strict";
 * import { BenchProcess } from "./child.ts";
 * const lines: string[] = [];
 * const child = BenchProcess.spawn({
 *   argv: ["echo", "hi"], cpu: null, nofile: null, onLine: (line) => lines.push(line),
 * });
 * // Wait for it to exit by itself: a stop() now could end it before it has printed.
 * await child.status;
 * await child.drained;
 * assert.ok(lines[0] === "hi");
 * ```
 */
export class BenchProcess {
  /** The process id (the program's own: wrappers exec it). */
  readonly pid: number;
  /** Resolves when it has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Resolves when both of its output streams have been read to the end. */
  readonly drained: Promise<void>;
  #child: Deno.ChildProcess;
  #stderrTail = "";
  #exited = false;

  private constructor(child: Deno.ChildProcess, onLine: (line: string) => void) {
    this.#child = child;
    this.pid = child.pid;
    this.status = child.status.then((status) => {
      this.#exited = true;
      return status;
    });
    const keepTail = (line: string) => {
      this.#stderrTail = (this.#stderrTail + line + "\n").slice(-_STDERR_TAIL_CHARS);
    };
    this.drained = Promise.all([
      _forEachLine(child.stdout, onLine),
      _forEachLine(child.stderr, keepTail),
    ]).then(() => {});
  }

  /**
   * Starts a process, pinned and with a raised open-file limit as asked.
   *
   * @param options what to run and how
   * @returns the running process
   * @throws {Deno.errors.NotFound} if the program (or `taskset`, `bash`) does not exist
   */
  static spawn(options: SpawnOptions): BenchProcess {
    const [program, ...args] = wrapArgv(options);
    const child = new Deno.Command(program!, {
      args,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new BenchProcess(child, options.onLine ?? (() => {}));
  }

  /** True once it has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** The last few thousand characters it wrote to stderr. */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  /**
   * Waits for it to exit by itself, at most `ms` milliseconds.
   *
   * @param ms the longest wait
   * @returns true if it exited in time
   */
  async waitFor(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
    try {
      return await Promise.race([this.status.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops it: SIGTERM, then SIGKILL if it has not exited after `graceMs`. Harmless if it has
   * already exited.
   *
   * @param graceMs how long SIGTERM gets
   * @returns how it ended
   */
  async stop(graceMs: number): Promise<StopResult> {
    const start = performance.now();
    let killed = false;
    if (!this.#exited) {
      this.#signal("SIGTERM");
      if (!(await this.waitFor(graceMs))) {
        killed = true;
        this.#signal("SIGKILL");
      }
    }
    const status = await this.status;
    return {
      code: status.code,
      signal: status.signal,
      killed,
      ms: Math.round(performance.now() - start),
    };
  }

  #signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // It exited in the meantime.
    }
  }
}
