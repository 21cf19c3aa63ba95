/**
 * tmux for the terminal tests: a private tmux server per test, a window of 100x30 running a shell
 * command, and bounded polls of what it shows.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * Runs a command for its exit code and stdout, at most 10 s; -1 when it cannot be started.
 *
 * @param command the program
 * @param args its arguments
 * @returns its exit code and standard output
 */
export async function run(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string }> {
  try {
    const output = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
  } catch {
    return { code: -1, stdout: "" };
  }
}

/** True where tmux cannot be run, so the terminal tests are skipped. */
export const TMUX_MISSING: boolean = (await run("tmux", ["-V"])).code !== 0;
if (TMUX_MISSING) {
  // deno-lint-ignore no-console
  console.log("tmux is not installed, so the terminal tests are skipped");
}

let sessions = 0;

/** A tmux server of its own with one 100x30 window running a shell command in the checkout. */
export class Tmux {
  /** The tmux socket's name, unique to this process and instance. */
  readonly socket: string;
  readonly #joinWrapped: boolean;
  readonly #waitMs: number;

  /**
   * @param options `prefix` starts the socket's name; `joinWrapped` makes
   *   {@linkcode Tmux.screen} join the lines the terminal wrapped; `waitMs` bounds
   *   {@linkcode Tmux.waitForScreen} (15 s by default)
   */
  constructor(
    options: {
      readonly prefix?: string;
      readonly joinWrapped?: boolean;
      readonly waitMs?: number;
    } = {},
  ) {
    this.socket = `${options.prefix ?? "chat-test"}-${Deno.pid}-${++sessions}`;
    this.#joinWrapped = options.joinWrapped ?? false;
    this.#waitMs = options.waitMs ?? 15_000;
  }

  async start(command: string, env: Record<string, string> = {}): Promise<void> {
    const envArgs = Object.entries(env).flatMap(([key, value]) => ["-e", `${key}=${value}`]);
    const started = await this.tmux(
      "new-session",
      "-d",
      "-s",
      "main",
      "-x",
      "100",
      "-y",
      "30",
      "-c",
      ROOT,
      ...envArgs,
      command,
    );
    assert.equal(started.code, 0, "tmux new-session");
    // Keep the pane after the client exits, to read the screen.
    await this.tmux("set-option", "-t", "main", "remain-on-exit", "on");
  }

  tmux(...args: string[]): Promise<{ code: number; stdout: string }> {
    return run("tmux", ["-L", this.socket, ...args]);
  }

  /**
   * The visible screen; `escapes` keeps colours; `join` joins wrapped lines and includes the
   * lines scrolled off the top.
   */
  async screen(escapes = false, join = false): Promise<string> {
    const args = [
      "capture-pane",
      "-p",
      "-t",
      "main",
      ...(escapes ? ["-e"] : []),
      ...(join ? ["-J", "-S", "-"] : this.#joinWrapped ? ["-J"] : []),
    ];
    return (await this.tmux(...args)).stdout;
  }

  async lines(): Promise<string[]> {
    return (await this.screen()).split("\n").map((line) => line.trimEnd());
  }

  /** The last non-empty line of the screen. */
  async lastLine(): Promise<string> {
    const lines = (await this.lines()).filter((line) => line !== "");
    return lines[lines.length - 1] ?? "";
  }

  async display(format: string): Promise<string> {
    return (await this.tmux("display-message", "-p", "-t", "main", format)).stdout.trim();
  }

  async keys(...keys: string[]): Promise<void> {
    await this.tmux("send-keys", "-t", "main", ...keys);
  }

  async type(text: string): Promise<void> {
    await this.tmux("send-keys", "-t", "main", "-l", text);
  }

  /** Polls the screen until `check` accepts it, within the bound the constructor was given. */
  async waitForScreen(check: (screen: string) => boolean, what: string): Promise<string> {
    const deadline = Date.now() + this.#waitMs;
    for (;;) {
      const screen = await this.screen();
      if (check(screen)) return screen;
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for ${what}; the screen:\n${screen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits for an `exit status N` line (a shell's `echo "exit status $?"`) and returns N. */
  async exitStatus(): Promise<number> {
    await this.waitForScreen((s) => /^exit status \d+$/m.test(s), "the client to exit");
    return Number(/^exit status (\d+)$/m.exec(await this.screen())![1]);
  }

  /** Stops the tmux server and removes its socket file. */
  async kill(): Promise<void> {
    await this.tmux("kill-server");
    const dir = Deno.env.get("TMUX_TMPDIR") ?? "/tmp";
    await Deno.remove(`${dir}/tmux-${Deno.uid()}/${this.socket}`).catch(() => {});
  }
}
