/**
 * Terminal tests of `chat join`: the real client runs in tmux (a real terminal), driven with
 * `send-keys` and read with `capture-pane`. Skipped, with the reason, when tmux is missing.
 */

import assert from "node:assert/strict";
import { Recorder, startTestServer, waitFor } from "./support/client_harness.ts";
import { TEST_XDG_ENV, waitUntil } from "./support/net.ts";
import { ChatSession } from "../client/session.ts";
import { scriptedServer } from "./support/scripted_server.ts";
import { Tmux, TMUX_MISSING } from "./support/tmux.ts";
import { tempDir } from "./support/temp.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const HOST = "127.0.0.1";

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
    const tmux = new Tmux({ prefix: "chat-join-test" });
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(joinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
      await tmux.type("half a li");
      await tmux.waitForScreen((s) => s.includes("alice #main> half a li"), "the half line");
      for (const text of ["first", "second", "third"]) bob.session.send({ type: "say", text });
      await tmux.waitForScreen((s) => s.includes("bob: third"), "the three messages");
      const lines = (await tmux.lines()).filter((line) => line !== "");
      const tail = lines.slice(-4);
      assert.match(tail[0]!, /^\d\d:\d\d bob: first$/);
      assert.match(tail[1]!, /^\d\d:\d\d bob: second$/);
      assert.match(tail[2]!, /^\d\d:\d\d bob: third$/);
      assert.equal(tail[3], "alice #main> half a li");
      assert.equal(await tmux.display("#{cursor_x}"), String("alice #main> half a li".length));
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
      assert.equal(await tmux.lastLine(), "alice #main>");
      await waitUntil(() => bob.seen.texts.includes("half a line"), "bob got the line");

      // A burst of 1000 messages: all shown, the input line still last.
      await tmux.type("draft");
      await tmux.waitForScreen((s) => s.includes("alice #main> draft"), "the draft");
      for (let i = 1; i <= 1000; i++) bob.session.send({ type: "say", text: `burst ${i}` });
      await tmux.waitForScreen((s) => s.includes("bob: burst 1000"), "the burst");
      assert.equal(await tmux.lastLine(), "alice #main> draft");
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
    const tmux = new Tmux({ prefix: "chat-join-test" });
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(joinCommand(server.port).replace("env -u NO_COLOR", "env NO_COLOR=1"));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
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
    const tmux = new Tmux({ prefix: "chat-join-test" });
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(joinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
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
  name: "tty: Ctrl-D deletes, Ctrl-C clears, and on an empty line Ctrl-D leaves with status 0",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux({ prefix: "chat-join-test" });
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(shellJoinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
      await tmux.type("never sent");
      await tmux.waitForScreen((s) => /^alice #main> never sent$/m.test(s), "the draft");
      // As in readline: Ctrl-D deletes the character under the cursor of a non-empty line.
      await tmux.keys("Home", "C-d");
      await tmux.waitForScreen((s) => /^alice #main> ever sent$/m.test(s), "the deleted character");
      // Ctrl-C clears a non-empty line and stays.
      await tmux.keys("C-c");
      await tmux.waitForScreen(
        (s) => /^alice #main>$/m.test(s.replace(/ +$/gm, "")),
        "the cleared line",
      );
      assert.ok(!(await tmux.screen()).includes("You left"), "still in the chat");
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
    const tmux = new Tmux({ prefix: "chat-join-test" });
    const bob = await peer(server.port, "bob");
    try {
      // Through a shell this time, which prints the exit status when the client is gone.
      await tmux.start(shellJoinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
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
    const tmux = new Tmux({ prefix: "chat-join-test" });
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
  name:
    "tty: $USER=root is not offered as a name; no motd still gives a /help hint; /help is for people",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux({ prefix: "chat-join-test" });
    try {
      const client = joinCommand(server.port).replace(
        "env -u NO_COLOR",
        "env -u NO_COLOR USER=root",
      )
        .replace(" --name alice", "");
      await tmux.start(client);
      await tmux.waitForScreen((s) => /^Your name/m.test(s), "the name prompt");
      const prompt = (await tmux.lines()).find((line) => line.startsWith("Your name"));
      assert.equal(prompt, "Your name:", "a reserved name is never offered");
      await tmux.type("alice");
      await tmux.keys("Enter");
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the chat prompt");
      assert.match(await tmux.screen(), /^-- Type \/help for commands/m);
      await tmux.type("/help");
      await tmux.keys("Enter");
      const help = await tmux.waitForScreen((s) => s.includes("/reply TEXT"), "the help");
      assert.match(help, /\/quit +leave the chat$/m);
      assert.ok(!help.includes("DISCONNECT"), help);
    } finally {
      await tmux.kill();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: replayed history is dimmed, dated when not today, and ends with a marker",
  ignore: TMUX_MISSING,
  async fn() {
    const now = new Date();
    const limits = {
      maxMessageBytes: 4096,
      rateBurst: 10,
      ratePerSecond: 5,
      pingIntervalSeconds: 30,
      idleTimeoutSeconds: 75,
    };
    const server = scriptedServer([
      {
        type: "welcome",
        name: "alice",
        server: "demo",
        protocol: 1,
        users: ["alice", "bob"],
        limits,
      },
      {
        type: "message",
        id: 1,
        ts: "2024-05-01T12:00:00Z",
        from: "bob",
        text: "from long ago",
        kind: "say",
        history: true,
      },
      {
        type: "message",
        id: 2,
        ts: now.toISOString(),
        from: "bob",
        text: "from today",
        kind: "say",
        history: true,
      },
      { type: "message", id: 3, ts: now.toISOString(), from: "bob", text: "live now", kind: "say" },
    ]);
    const tmux = new Tmux({ prefix: "chat-join-test" });
    try {
      await tmux.start(joinCommand(server.port));
      await tmux.waitForScreen((s) => s.includes("bob: live now"), "the live message");
      const lines = await tmux.lines();
      const at = (text: string) => lines.findIndex((line) => line.includes(text));
      assert.match(lines[at("from long ago")]!, /^2024-05-0\d \d\d:\d\d bob: from long ago$/);
      assert.match(lines[at("from today")]!, /^\d\d:\d\d bob: from today$/);
      assert.equal(lines[at("from today") + 1], "-- end of history --");
      assert.equal(at("-- end of history --") + 1, at("live now"), "the marker before live");
      // tmux writes an attribute only where it changes, so the replayed lines are faint (SGR 2)
      // from the first one's start to the end marker with no other sequence between.
      const coloured = await tmux.screen(true);
      const faint = "\x1b[2m";
      const start = coloured.indexOf(`${faint}2024-05-0`);
      const end = coloured.indexOf("-- end of history --");
      assert.ok(start >= 0 && end > start, coloured);
      assert.ok(!coloured.slice(start + faint.length, end).includes("\x1b["), coloured);
      // The live message is not: its name is coloured and its text comes after a reset.
      const live = coloured.split("\n").find((line) => line.includes("live now"))!;
      assert.ok(live.includes("\x1b[0m") && live.endsWith(": live now"), live);
    } finally {
      await tmux.kill();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: a line wider than the window wraps at spaces with a hanging indent",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux({ prefix: "chat-join-test" });
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(joinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
      const words = Array.from({ length: 40 }, (_, i) => `word${i}-${"x".repeat(i % 7)}`);
      const long = "https://example.org/" + "p".repeat(130);
      bob.session.send({ type: "say", text: words.join(" ") });
      bob.session.send({ type: "say", text: `see ${long} ok` });
      bob.session.send({ type: "say", text: "after" });
      await tmux.waitForScreen((s) => s.includes("bob: after"), "the messages");
      const lines = await tmux.lines();
      const first = lines.findIndex((line) => /^\d\d:\d\d bob: word0-/.test(line));
      const end = lines.findIndex((line) => /^\d\d:\d\d bob: see /.test(line));
      assert.ok(first >= 0 && end > first + 1, lines.join("\n"));
      const indent = " ".repeat("00:00 bob: ".length);
      const rows = lines.slice(first, end);
      for (const row of rows.slice(1)) {
        assert.ok(row.startsWith(indent) && row[indent.length] !== " ", `hanging indent: ${row}`);
      }
      // Every word whole, on one row, in order.
      const shown = rows.map((row, i) => i === 0 ? row.slice(indent.length) : row.trim());
      assert.deepEqual(shown.join(" ").split(" "), words);
      for (const row of rows.slice(0, -1)) {
        assert.ok(row.length > 100 - 12, `a row is filled before breaking: ${row}`);
      }
      // A word longer than a row is broken, still under the indent.
      const after = lines.findIndex((line) => /^\d\d:\d\d bob: after$/.test(line));
      const urlRows = lines.slice(end, after);
      assert.equal(urlRows[0], `${lines[end]!.slice(0, 11)}see ${long.slice(0, 85)}`);
      assert.ok(urlRows.slice(1).every((row) => row.startsWith(indent)));
      assert.equal(
        urlRows.map((row, i) => i === 0 ? row.slice("00:00 bob: see ".length) : row.trim()).join(
          "",
        ),
        `${long} ok`,
      );
    } finally {
      await tmux.kill();
      await bob.session.quit();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: narrowing the window leaves no stale prompt rows, and growing it back neither",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux({ prefix: "chat-join-test" });
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(joinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
      bob.session.send({ type: "say", text: "before" });
      await tmux.waitForScreen((s) => s.includes("bob: before"), "the first message");
      // 65 characters, each a digit of its position, so any stale piece can be recognised.
      const draft = Array.from({ length: 65 }, (_, i) => String(i % 10)).join("");
      await tmux.type(draft);
      await tmux.waitForScreen((s) => s.includes(`alice #main> ${draft}`), "the draft");
      // A piece of the draft: eight digits in its ascending cycle.
      const stale = /(?:0123|1234|2345|3456|4567|5678|6789|7890|8901|9012)\d{4}/;
      /** The screen has the message lines, then exactly one row of prompt, and nothing else. */
      const clean = (screen: string, width: number): boolean => {
        const rows = screen.split("\n").map((row) => row.trimEnd()).filter((row) => row !== "");
        const prompt = rows[rows.length - 1] ?? "";
        // The last column stays free, and so does the cursor's cell after the text.
        const visible = width - "alice #main> ".length - 2;
        return prompt === `alice #main> ${draft.slice(-visible)}` &&
          rows.slice(0, -1).every((row) => !stale.test(row));
      };
      for (const width of [60, 40]) {
        await tmux.tmux("resize-window", "-t", "main", "-x", String(width));
        await tmux.waitForScreen((s) => clean(s, width), `a clean screen at ${width} columns`);
      }
      bob.session.send({ type: "say", text: "after" });
      const narrow = await tmux.waitForScreen((s) => s.includes("bob: after"), "the next message");
      assert.ok(clean(narrow, 40), narrow);
      const rows = narrow.split("\n").map((row) => row.trimEnd()).filter((row) => row !== "");
      assert.match(rows[rows.length - 2]!, /^\d\d:\d\d bob: after$/, "right above the prompt");
      await tmux.tmux("resize-window", "-t", "main", "-x", "100");
      await tmux.waitForScreen((s) => clean(s, 100), "a clean screen at 100 columns again");
    } finally {
      await tmux.kill();
      await bob.session.quit();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: 15 lines typed in a second are queued, paced under the server's rate, and all sent",
  ignore: TMUX_MISSING,
  async fn() {
    // The server's real flood control: a burst of 10, then 5 a second.
    const server = await startTestServer({ rateBurst: 10, ratePerSecond: 5 });
    const tmux = new Tmux({ prefix: "chat-join-test" });
    const bob = await peer(server.port, "bob");
    try {
      await tmux.start(joinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
      const texts = Array.from({ length: 15 }, (_, i) => `fast ${i + 1}`);
      // One send-keys: all 15 lines reach the client within milliseconds.
      await tmux.keys(...texts.flatMap((text) => [text, "Enter"]));
      const queued = await tmux.waitForScreen(
        (s) => /^-- \d+ lines? waiting, sent at 5 a second$/m.test(s),
        "the queue in the status row",
      );
      assert.match(queued, /^alice #main> ?$/m, "the input line stays free to type");
      await waitFor(() => bob.seen.texts.length >= 15, "bob to get all 15", 15_000);
      assert.deepEqual(bob.seen.texts, texts, "every line, in order");
      const done = await tmux.waitForScreen(
        (s) => s.includes("alice: fast 15") && !s.includes("waiting"),
        "the queue to empty",
      );
      assert.ok(!done.includes("!!"), `no error such as rate_limited:\n${done}`);
    } finally {
      await tmux.kill();
      await bob.session.quit();
      await server.close();
    }
  },
});

Deno.test({
  name:
    "tty: a restart is one status row; Enter and /reconnect retry at once; a draft shortens the wait",
  ignore: TMUX_MISSING,
  async fn() {
    // Restarts keep the data dir and TLS port, as a real server's do, so the pin holds.
    const data = tempDir("chat-tty-restart-");
    const first = await startTestServer({ data });
    const port = first.port;
    const tlsPort = first.tlsPort ?? 0;
    let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
    let third: Awaited<ReturnType<typeof startTestServer>> | undefined;
    const tmux = new Tmux({ prefix: "chat-join-test" });
    try {
      await tmux.start(joinCommand(port));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
      const rowsBefore = (await tmux.lines()).filter((line) => line !== "").length;
      await first.close("Restarting");
      // Attempts at about 0.5, 1 and 2 s fail; then the wait is 3 s or more.
      const waiting = await tmux.waitForScreen(
        (s) => /offline \(connection refused\), retrying in [3-9] s; Enter retries now$/m.test(s),
        "a long wait in the status row",
      );
      const rows = waiting.split("\n").filter((line) => line.trim() !== "");
      assert.equal(rows.length, rowsBefore + 1, `only the status row was added:\n${waiting}`);
      assert.match(rows[rows.length - 2]!, /^-- offline/);
      assert.match(rows[rows.length - 1]!, /^\(offline\) alice #main> ?$/);
      // A draft caps the wait at 2 s.
      await tmux.type("wip");
      await tmux.waitForScreen(
        (s) => /retrying in [12] s; Enter retries now$/m.test(s) || /reconnecting…/.test(s),
        "a shorter wait once a draft is there",
      );
      // Enter sends the draft into the queue and retries at once: back well within 2 s.
      second = await startTestServer({ port, tlsPort, data });
      const bob = await peer(port, "bob").catch(() => null);
      await tmux.keys("Enter");
      const started = Date.now();
      await tmux.waitForScreen((s) => s.includes("-- Reconnected as alice after"), "reconnected");
      await tmux.waitForScreen((s) => s.includes("alice: wip"), "the queued line sent");
      assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
      if (bob !== null) await bob.session.quit();
      const back = (await tmux.lines()).filter((line) => line !== "");
      assert.ok(!back.some((line) => line.startsWith("-- offline")), "the status row is gone");
      assert.ok(!back.some((line) => /^!!|Reconnecting in|Connection lost/.test(line)));
      // Once more, and /reconnect instead of Enter.
      await second.close("Again");
      await tmux.waitForScreen(
        (s) => /retrying in [3-9] s; Enter retries now$/m.test(s),
        "a long wait again",
      );
      third = await startTestServer({ port, tlsPort, data });
      await tmux.type("/reconnect");
      await tmux.keys("Enter");
      const again = Date.now();
      await tmux.waitForScreen(
        (s) => (s.match(/-- Reconnected as alice after/g) ?? []).length === 2,
        "reconnected again",
      );
      assert.ok(Date.now() - again < 1500, `took ${Date.now() - again} ms`);
    } finally {
      await tmux.kill();
      await first.close();
      await second?.close();
      await third?.close();
    }
  },
});

Deno.test({
  name: "tty: --plain is marked not encrypted on screen, in the prompt too",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux({ prefix: "chat-join-test" });
    try {
      await tmux.start(joinCommand(server.port, "--plain"));
      const screen = await tmux.waitForScreen(
        (s) => /^\(not encrypted\) alice #main> ?$/m.test(s),
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
    const config = tempDir("chat-tty-cfg-");
    const free = () => {
      const listener = Deno.listen({ hostname: HOST, port: 0 });
      const port = listener.addr.port;
      listener.close();
      return port;
    };
    const [port, tlsPort] = [free(), free()];
    let original: string;
    {
      const data = tempDir("chat-tty-data-");
      const server = await startTestServer({ port, tlsPort, data });
      const tmux = new Tmux({ prefix: "chat-join-test" });
      try {
        original = server.certificate!.fingerprint;
        await tmux.start(pinnedJoinCommand(port, config));
        const screen = await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
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
      data: tempDir("chat-tty-data-"),
    });
    const tmux = new Tmux({ prefix: "chat-join-test" });
    try {
      await tmux.start(pinnedJoinCommand(port, config));
      assert.equal(await tmux.exitStatus(), 1);
      const joined = (await tmux.screen(false, true)).replaceAll("\n", "");
      assert.match(joined, /has CHANGED/);
      assert.ok(joined.includes(original) && joined.includes(impostor.certificate!.fingerprint));
      assert.ok(joined.includes(`chat join ${HOST}:${port} --forget`), joined);
      assert.equal(impostor.chat.size, 0);
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

Deno.test({
  name:
    "tty: rooms: /rooms lists them, Tab completes one, /join moves the prompt there, /part back",
  ignore: TMUX_MISSING,
  async fn() {
    const server = await startTestServer();
    const tmux = new Tmux({ prefix: "chat-join-test" });
    const bob = await peer(server.port, "bob");
    try {
      bob.session.send({ type: "room", name: "#rust" });
      await tmux.start(joinCommand(server.port));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
      await tmux.type("/rooms");
      await tmux.keys("Enter");
      await tmux.waitForScreen((s) => s.includes("Rooms (2): #main (1), #rust (1)"), "the list");
      await tmux.type("/join #ru");
      await tmux.keys("Tab");
      await tmux.waitForScreen((s) => /^alice #main> \/join #rust ?$/m.test(s), "the completion");
      await tmux.keys("Enter");
      await tmux.waitForScreen((s) => /^alice #rust> ?$/m.test(s), "the prompt in #rust");
      assert.match(await tmux.screen(), /You are now in #rust\. 2 online: alice, bob/);
      bob.session.send({ type: "say", text: "welcome to rust" });
      await tmux.waitForScreen((s) => s.includes("bob: welcome to rust"), "bob's message");
      await tmux.type("thanks");
      await tmux.keys("Enter");
      await tmux.waitForScreen((s) => s.includes("alice: thanks"), "the echo");
      // Alice's screen and bob's connection are told in separate writes: wait for bob's.
      await waitUntil(() => bob.seen.texts.includes("thanks"), "bob got alice's thanks");
      await tmux.type("/part");
      await tmux.keys("Enter");
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt back in #main");
      await waitUntil(
        () =>
          bob.seen.all.some((e) =>
            e.type === "leave" && e.name === "alice" && e.reason === "moved"
          ),
        "bob saw alice go",
      );
    } finally {
      await tmux.kill();
      await bob.session.quit();
      await server.close();
    }
  },
});
