/**
 * Terminal tests of `chat join`: the real client runs in tmux (a real terminal), driven with
 * `send-keys` and read with `capture-pane`. Skipped, with the reason, when tmux is missing.
 */

import assert from "node:assert/strict";
import { Recorder, startTestServer, waitFor } from "./support/client_harness.ts";
import { TEST_XDG_ENV } from "./support/net.ts";
import { ChatSession } from "../client/session.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const HOST = "127.0.0.1";

async function run(command: string, args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const output = await new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(10_000),
    }).output();
    return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
  } catch {
    return { code: -1, stdout: "" };
  }
}

const TMUX_MISSING = (await run("tmux", ["-V"])).code !== 0;
if (TMUX_MISSING) {
  // deno-lint-ignore no-console
  console.log("join_tty_test: tmux is not installed, so the terminal tests are skipped");
}

let sessions = 0;

/** A tmux server with one 100x30 window running `chat join`. */
class Tmux {
  readonly socket = `chat-join-test-${Deno.pid}-${++sessions}`;

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
      ...(join ? ["-J", "-S", "-"] : []),
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

  /** Polls the screen until `check` accepts it, at most 15 s. */
  async waitForScreen(check: (screen: string) => boolean, what: string): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const screen = await this.screen();
      if (check(screen)) return screen;
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for ${what}; the screen:\n${screen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits for the `exit status N` line of {@linkcode shellJoinCommand} and returns N. */
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

function joinCommand(port: number, extra = ""): string {
  // `exec`, so the pane's process is the client itself.
  const xdg =
    `XDG_CONFIG_HOME=${TEST_XDG_ENV.XDG_CONFIG_HOME} XDG_DATA_HOME=${TEST_XDG_ENV.XDG_DATA_HOME}`;
  return `exec env -u NO_COLOR ${xdg} ${Deno.execPath()} run -A main.ts join ${HOST}:${port} --name alice ${extra}`;
}

/**
 * The client run through a shell, which prints its exit status when it is gone, and whether
 * the terminal was put back in its normal mode (line editing and echo on).
 */
function shellJoinCommand(port: number): string {
  const client = joinCommand(port).replace(/^exec /, "");
  const mode = `case "$(stty -a)" in *-icanon*|*" -echo "*) echo "terminal left raw";; ` +
    `*) echo "terminal restored";; esac`;
  return `${client}; echo "exit status $?"; ${mode}; sleep 30`;
}

async function peer(port: number, name: string): Promise<{ session: ChatSession; seen: Recorder }> {
  const seen = new Recorder();
  const session = new ChatSession({ host: HOST, port, reconnect: false }, seen);
  await session.connect();
  await session.join(name);
  return { session, seen };
}

/** CPU time a process has used, in clock ticks (utime + stime from /proc). */
async function cpuTicks(pid: string): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

Deno.test({
  name: "tty: messages arriving mid-typing go above and the half line stays intact",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux();
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(joinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice> ?$/m.test(s), "the prompt");
      await tmux.type("half a li");
      await tmux.waitForScreen((s) => s.includes("alice> half a li"), "the half line");
      for (const text of ["first", "second", "third"]) bob.session.send({ type: "say", text });
      await tmux.waitForScreen((s) => s.includes("bob: third"), "the three messages");
      const lines = (await tmux.lines()).filter((line) => line !== "");
      const tail = lines.slice(-4);
      assert.match(tail[0]!, /^\d\d:\d\d bob: first$/);
      assert.match(tail[1]!, /^\d\d:\d\d bob: second$/);
      assert.match(tail[2]!, /^\d\d:\d\d bob: third$/);
      assert.equal(tail[3], "alice> half a li");
      assert.equal(await tmux.display("#{cursor_x}"), String("alice> half a li".length));
      const coloured = await tmux.screen(true);
      assert.ok(coloured.includes("\x1b["), "names are coloured");

      // The client sits idle: it should use (almost) no CPU.
      const pid = await tmux.display("#{pane_pid}");
      const before = await cpuTicks(pid);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const idleTicks = (await cpuTicks(pid)) - before;
      // 3 s at 100 ticks per second; under 1% of a core is under 3 ticks.
      assert.ok(idleTicks < 3, `idle client used ${idleTicks} ticks in 3 s`);

      await tmux.type("ne");
      await tmux.keys("Enter");
      await tmux.waitForScreen((s) => s.includes("alice: half a line"), "the echo");
      assert.equal(await tmux.lastLine(), "alice>");
      assert.ok(bob.seen.texts.includes("half a line"));

      // A burst of 1000 messages: all shown, the input line still last.
      await tmux.type("draft");
      await tmux.waitForScreen((s) => s.includes("alice> draft"), "the draft");
      for (let i = 1; i <= 1000; i++) bob.session.send({ type: "say", text: `burst ${i}` });
      await tmux.waitForScreen((s) => s.includes("bob: burst 1000"), "the burst");
      assert.equal(await tmux.lastLine(), "alice> draft");
    } finally {
      await tmux.kill();
      await bob.session.quit();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: NO_COLOR turns every colour off",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux();
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(joinCommand(server.port).replace("env -u NO_COLOR", "env NO_COLOR=1"));
      await tmux.waitForScreen((s) => /^alice> ?$/m.test(s), "the prompt");
      bob.session.send({ type: "say", text: "hello alice" });
      bob.session.send({ type: "me", text: "waves" });
      await tmux.waitForScreen((s) => s.includes("* bob waves"), "the messages");
      const screen = await tmux.screen(true);
      assert.ok(!screen.includes("\x1b"), "no escape sequences on the screen");
      assert.match(screen, /bob: hello alice/);
    } finally {
      await tmux.kill();
      await bob.session.quit();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: a pasted block of lines is sent as one multi-line message",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux();
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(joinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice> ?$/m.test(s), "the prompt");
      await tmux.tmux("set-buffer", "-b", "block", "step one\nstep two\nstep three");
      // -p: bracketed, as a terminal pastes when the program asked for it.
      await tmux.tmux("paste-buffer", "-p", "-b", "block", "-t", "main");
      await tmux.waitForScreen((s) => s.includes("step one↵step two↵step three"), "the paste");
      assert.deepEqual(bob.seen.texts, [], "nothing is sent before Enter");
      await tmux.keys("Enter");
      await waitFor(() => bob.seen.texts.length > 0, "bob to get the paste", 15_000);
      assert.deepEqual(bob.seen.texts, ["step one\nstep two\nstep three"]);
      const screen = await tmux.waitForScreen((s) => s.includes("step three\n"), "the echo");
      assert.match(screen, /alice: step one\n +step two\n +step three\n/);
    } finally {
      await tmux.kill();
      await bob.session.quit();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: Ctrl-D leaves, the other side sees the leave, and the exit status is 0",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux();
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(shellJoinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice> ?$/m.test(s), "the prompt");
      await tmux.type("never sent");
      await tmux.keys("C-d");
      await waitFor(
        () =>
          bob.seen.all.some((e) => e.type === "leave" && e.name === "alice" && e.reason === "quit"),
        "bob to see alice leave",
        15_000,
      );
      assert.equal(await tmux.exitStatus(), 0);
      await tmux.waitForScreen((s) => s.includes("terminal "), "the terminal mode");
      const screen = await tmux.screen();
      assert.match(screen, /^terminal restored$/m);
      assert.match(screen, /-- You left the chat/);
      assert.ok(!bob.seen.texts.includes("never sent"));
    } finally {
      await tmux.kill();
      await bob.session.quit();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: SIGTERM leaves cleanly with bye and exit status 0",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux();
    const bob = await peer(server.port, "bob");
    try {
      // Through a shell this time, which prints the exit status when the client is gone.
      await tmux.start(shellJoinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice> ?$/m.test(s), "the prompt");
      const shell = await tmux.display("#{pane_pid}");
      const children = await Deno.readTextFile(`/proc/${shell}/task/${shell}/children`);
      const client = Number(children.trim().split(" ")[0]);
      assert.ok(client > 0, "the client's process id");
      Deno.kill(client, "SIGTERM");
      await waitFor(
        () =>
          bob.seen.all.some((e) => e.type === "leave" && e.name === "alice" && e.reason === "quit"),
        "bob to see alice leave",
        15_000,
      );
      assert.equal(await tmux.exitStatus(), 0);
      await tmux.waitForScreen((s) => s.includes("terminal "), "the terminal mode");
      assert.match(
        await tmux.screen(),
        /-- You left the chat\n+exit status 0\nterminal restored$/m,
      );
    } finally {
      await tmux.kill();
      await bob.session.quit();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: no server is one sentence naming the address, exit status 1",
  ignore: TMUX_MISSING,
  async fn() {
    const listener = Deno.listen({ hostname: HOST, port: 0 });
    const port = listener.addr.port;
    listener.close();
    const tmux = new Tmux();
    try {
      await tmux.start(shellJoinCommand(port));
      await tmux.waitForScreen((s) => s.includes("'deno task serve'"), "the error");
      assert.match(
        await tmux.screen(false, true),
        new RegExp(
          `Could not connect to 127\\.0\\.0\\.1:${port}: connection refused\\. ` +
            "Is a server running there\\? Start one with 'deno task serve'",
        ),
      );
      assert.equal(await tmux.exitStatus(), 1);
    } finally {
      await tmux.kill();
    }
  },
});

Deno.test({
  name: "tty: --plain is marked not encrypted on screen, in the prompt too",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux();
    try {
      await tmux.start(joinCommand(server.port, "--plain"));
      const screen = await tmux.waitForScreen(
        (s) => /^\(not encrypted\) alice> ?$/m.test(s),
        "the marked prompt",
      );
      assert.match(screen, /Not encrypted \(--plain\)/);
    } finally {
      await tmux.kill();
      await server.close();
    }
  },
});

/** `chat join` with its own config dir (its own pins), then its exit status. */
function pinnedJoinCommand(port: number, configHome: string): string {
  const client = `env -u NO_COLOR XDG_CONFIG_HOME=${configHome} ${Deno.execPath()} run -A ` +
    `main.ts join ${HOST}:${port} --name alice --no-reconnect`;
  return `${client}; echo "exit status $?"; sleep 30`;
}

Deno.test({
  name: "tty: first contact shows the certificate's fingerprint; a changed certificate is refused",
  ignore: TMUX_MISSING,
  async fn() {
    const config = await Deno.makeTempDir({ prefix: "chat-tty-cfg-" });
    const free = () => {
      const listener = Deno.listen({ hostname: HOST, port: 0 });
      const port = listener.addr.port;
      listener.close();
      return port;
    };
    const [port, tlsPort] = [free(), free()];
    let original: string;
    {
      const data = await Deno.makeTempDir({ prefix: "chat-tty-data-" });
      const server = await startTestServer({ port, tlsPort, data });
      const tmux = new Tmux();
      try {
        original = server.certificate!.fingerprint;
        await tmux.start(pinnedJoinCommand(port, config));
        const screen = await tmux.waitForScreen((s) => /^alice> ?$/m.test(s), "the prompt");
        const joined = (await tmux.screen(false, true)).replaceAll("\n", " ");
        assert.ok(joined.includes(`First contact with ${HOST}:${tlsPort}`), screen);
        assert.ok(joined.includes(original), screen);
        assert.ok(!joined.includes("Not encrypted"), screen);
        await tmux.type("/quit");
        await tmux.keys("Enter");
        assert.equal(await tmux.exitStatus(), 0);
      } finally {
        await tmux.kill();
        await server.close();
      }
    }
    const impostor = await startTestServer({
      port,
      tlsPort,
      data: await Deno.makeTempDir({ prefix: "chat-tty-data-" }),
    });
    const tmux = new Tmux();
    try {
      await tmux.start(pinnedJoinCommand(port, config));
      assert.equal(await tmux.exitStatus(), 1);
      const joined = (await tmux.screen(false, true)).replaceAll("\n", "");
      assert.match(joined, /has CHANGED/);
      assert.ok(joined.includes(original) && joined.includes(impostor.certificate!.fingerprint));
      assert.ok(joined.includes(`chat join ${HOST}:${port} --forget`), joined);
      assert.equal(impostor.room.online, 0);
      // The command it printed forgets the pin; the next join pins the new certificate.
      const forget = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "main.ts", "join", `${HOST}:${port}`, "--forget"],
        cwd: ROOT,
        env: { XDG_CONFIG_HOME: config },
        stdout: "null",
        stderr: "null",
      }).output();
      assert.equal(forget.code, 0);
      const pins = await Deno.readTextFile(`${config}/chat/known_servers`);
      assert.ok(!pins.includes(original), pins);
    } finally {
      await tmux.kill();
      await impostor.close();
    }
  },
});
