/**
 * End-to-end tests of `chat join` in piped mode (stdin and stdout not terminals), plain and
 * `--json`: `main.ts` runs as a real process against a real server.
 */

import assert from "node:assert/strict";
import { Recorder, startTestServer, waitFor } from "./support/client_harness.ts";
import { frame, joinJson, TEST_XDG_ENV } from "./support/net.ts";
import { ChatSession } from "../client/session.ts";
import { tempDir } from "./support/temp.ts";

const ROOT = new URL("..", import.meta.url);
const HOST = "127.0.0.1";
const CLOCK = String.raw`\d\d:\d\d`;

/** `main.ts join ...` as a process with piped stdio; every wait is bounded. */
class JoinProcess {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdout = "";
  #stderr = "";
  readonly #reading: Promise<unknown>;

  constructor(args: string[], env: Record<string, string> = {}, clearEnv = false) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "join", ...args],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...TEST_XDG_ENV, ...env },
      clearEnv,
      signal: AbortSignal.timeout(30_000),
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#reading = Promise.all([
      this.#child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (text) => void (this.#stdout += text) }),
      ),
      this.#child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (text) => void (this.#stderr += text) }),
      ),
    ]);
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  async write(text: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(text));
  }

  async waitForStdout(pattern: RegExp | string, what: string): Promise<void> {
    await waitFor(
      () =>
        typeof pattern === "string" ? this.#stdout.includes(pattern) : pattern.test(this.#stdout),
      `${what} (stdout so far: ${JSON.stringify(this.#stdout)}, stderr: ${
        JSON.stringify(this.#stderr)
      })`,
      15_000,
    );
  }

  async waitForStderr(pattern: string, what: string): Promise<void> {
    await waitFor(
      () => this.#stderr.includes(pattern),
      `${what} (stderr: ${this.#stderr})`,
      15_000,
    );
  }

  /** Waits for the process to exit (at most the 30 s limit), without closing its input. */
  async exited(): Promise<number> {
    return (await this.#child.status).code;
  }

  /** Closes stdin and waits for the exit. */
  async finish(): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      await this.#stdin.close();
    } catch {
      // The process may have exited already.
    }
    const { code } = await this.#child.status;
    await this.#reading;
    return { code, stdout: this.#stdout, stderr: this.#stderr };
  }
}

async function peer(port: number, name: string): Promise<{ session: ChatSession; seen: Recorder }> {
  const seen = new Recorder();
  const session = new ChatSession({ host: HOST, port, reconnect: false }, seen);
  await session.connect();
  await session.join(name);
  return { session, seen };
}

Deno.test("piped: each line is sent, echoes print as HH:MM name: text, exit 0 after bye", async () => {
  const server = await startTestServer();
  const bob = await peer(server.port, "bob");
  try {
    const alice = new JoinProcess([`${HOST}:${server.port}`, "--name", "alice"]);
    await alice.write("hello there\n/me waves\n\n   \nline\r\n");
    const run = await alice.finish();
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3, run.stdout);
    assert.match(lines[0]!, new RegExp(`^${CLOCK} alice: hello there$`));
    assert.match(lines[1]!, new RegExp(`^${CLOCK} \\* alice waves$`));
    assert.match(lines[2]!, new RegExp(`^${CLOCK} alice: line$`));
    assert.deepEqual(bob.seen.texts, ["hello there", "waves", "line"]);
    await waitFor(
      () =>
        bob.seen.all.some((e) => e.type === "leave" && e.name === "alice" && e.reason === "quit"),
      "the leave with reason quit",
    );
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("piped: messages from others arrive as plain lines while input stays open", async () => {
  const server = await startTestServer();
  const bob = await peer(server.port, "bob");
  try {
    const alice = new JoinProcess([`${HOST}:${server.port}`, "--name", "alice"]);
    await waitFor(() => bob.seen.all.some((e) => e.type === "join"), "alice to join");
    bob.session.send({ type: "say", text: "one\ntwo \x1b[31mred" });
    bob.session.send({ type: "dm", to: "alice", text: "psst" });
    await alice.waitForStdout("psst", "the private message");
    const run = await alice.finish();
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^${CLOCK} bob: one\n${CLOCK} bob: two red$`, "m"));
    assert.match(run.stdout, new RegExp(`^${CLOCK} \\[dm\\] bob → alice: psst$`, "m"));
    assert.ok(!run.stdout.includes("\x1b"));
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("piped: many lines are paced under the flood limit and all echoed before bye", async () => {
  const server = await startTestServer({ rateBurst: 4, ratePerSecond: 40 });
  const bob = await peer(server.port, "bob");
  try {
    const alice = new JoinProcess([`${HOST}:${server.port}`, "--name", "alice"]);
    const input = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    await alice.write(input.join("\n") + "\n");
    const run = await alice.finish();
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /rate|too fast|slow down/i);
    const echoed = run.stdout.trimEnd().split("\n").map((line) => line.replace(/^.*? alice: /, ""));
    assert.deepEqual(echoed, input, "every line echoed before exit");
    assert.deepEqual(bob.seen.texts, input);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("piped --json: NDJSON events out, NDJSON client events in", async () => {
  const server = await startTestServer();
  const bob = await peer(server.port, "bob");
  try {
    const bot = new JoinProcess([`${HOST}:${server.port}`, "--name", "bot", "--json"]);
    await bot.waitForStdout('"type":"welcome"', "the welcome");
    bob.session.send({ type: "say", text: "bot, \x1b[2J ping?" });
    await bot.waitForStdout("ping?", "bob's message");
    await bot.write(
      [
        '{"type":"say","text":"pong!"}',
        '{"type":"who"}',
        "not json",
        '{"type":"me","text":"beeps"}',
        '{"type":"ping","id":42}',
      ].join("\n") + "\n",
    );
    await bot.waitForStdout('"type":"pong"', "the pong");
    const run = await bot.finish();
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes("\x1b"), "no escape reaches the terminal");
    const events = run.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    const types = events.map((event) => event.type);
    assert.equal(types[0], "welcome");
    assert.ok(types.includes("who"));
    const messages = events.filter((event) => event.type === "message");
    assert.deepEqual(messages.map((m) => [m.from, m.text, m.kind]), [
      ["bob", "bot,  ping?", "say"],
      ["bot", "pong!", "say"],
      ["bot", "beeps", "me"],
    ]);
    assert.deepEqual(events.find((event) => event.type === "pong"), { type: "pong", id: 42 });
    assert.match(run.stderr, /Line 3 of the input is not JSON/);
    assert.deepEqual(bob.seen.texts.slice(-2), ["pong!", "beeps"]);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("piped: connection refused is one sentence naming the address, exit 1", async () => {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = listener.addr.port;
  listener.close();
  const run = await new JoinProcess([`${HOST}:${port}`, "--name", "alice"]).finish();
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "");
  assert.equal(
    run.stderr,
    `Could not connect to ${HOST}:${port}: connection refused. Is a server running there? ` +
      "Start one with 'deno task serve'\n",
  );
});

Deno.test("piped: an IPv6 address is shown in brackets", async () => {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = listener.addr.port;
  listener.close();
  const run = await new JoinProcess([`[::1]:${port}`, "--name", "alice"]).finish();
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    new RegExp(`^Could not connect to \\[::1\\]:${port}: .*deno task serve`),
  );
});

Deno.test("piped: a taken name fails with the server's reason", async () => {
  const server = await startTestServer();
  const bob = await peer(server.port, "bob");
  try {
    const run = await new JoinProcess([`${HOST}:${server.port}`, "--name", "Bob"]).finish();
    assert.equal(run.code, 1);
    // After the first-contact line with the certificate's fingerprint.
    assert.match(run.stderr, /^First contact with .* its TLS certificate is SHA256:/);
    assert.match(run.stderr, /^Could not join as "Bob": .*taken/im);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("piped: without --name it uses $USER, and without either it says what to do", async () => {
  const server = await startTestServer();
  try {
    const withUser = new JoinProcess([`${HOST}:${server.port}`], { USER: "carol" });
    await withUser.write("hi\n");
    const run = await withUser.finish();
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, / carol: hi$/m);
    const root = await new JoinProcess([`${HOST}:${server.port}`], { USER: "root" }).finish();
    assert.equal(root.code, 1);
    assert.match(
      root.stderr,
      /^\$USER is not a name the server accepts \(.*reserved.*\): pass --name NAME\n$/,
    );
    const env: Record<string, string> = { ...TEST_XDG_ENV };
    for (const key of ["HOME", "DENO_DIR", "PATH", "XDG_CACHE_HOME"]) {
      const value = Deno.env.get(key);
      if (value !== undefined) env[key] = value;
    }
    const noName = await new JoinProcess([`${HOST}:${server.port}`], env, true).finish();
    assert.equal(noName.code, 1);
    assert.equal(noName.stderr, "No name to join with: pass --name NAME (or set USER)\n");
  } finally {
    await server.close();
  }
});

Deno.test("piped --no-reconnect: a server shutdown is reported and exits 1", async () => {
  const server = await startTestServer();
  try {
    const alice = new JoinProcess([`${HOST}:${server.port}`, "--name", "alice", "--no-reconnect"]);
    await waitFor(() => server.chat.size === 1, "alice to join");
    await server.close("Going down");
    await alice.waitForStderr("Connection lost", "the loss");
    assert.equal(await alice.exited(), 1, "it exits by itself, input still open");
    const run = await alice.finish();
    assert.equal(run.code, 1);
    assert.match(run.stderr, /The server is shutting down: Going down/);
    assert.match(run.stderr, /Connection lost/);
  } finally {
    await server.close();
  }
});

Deno.test("piped: after a lost connection it reconnects under the same name", async () => {
  // The restarted server keeps its data dir, so its certificate and TLS port are the ones pinned.
  const data = tempDir("chat-restart-");
  const first = await startTestServer({ data });
  const port = first.port;
  let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
  try {
    const alice = new JoinProcess([`${HOST}:${port}`, "--name", "alice"]);
    await waitFor(() => first.chat.size === 1, "alice to join");
    await first.close("Restarting");
    await alice.waitForStderr("Reconnecting in", "the reconnect notice");
    second = await startTestServer({ port, tlsPort: first.tlsPort ?? 0, data });
    const bob = await peer(port, "bob");
    try {
      await waitFor(
        () =>
          bob.seen.all.some((e) => e.type === "join" && e.name === "alice") ||
          second!.chat.size === 2,
        "alice to come back",
        15_000,
      );
      await alice.write("back again\n");
      await waitFor(() => bob.seen.texts.includes("back again"), "the message after reconnecting");
      const run = await alice.finish();
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /Reconnected as alice/);
    } finally {
      await bob.session.quit();
    }
  } finally {
    await first.close();
    await second?.close();
  }
});

Deno.test("piped: /join, /rooms and /part work, and lines go to the room joined", async () => {
  const server = await startTestServer();
  const bob = await peer(server.port, "bob");
  const carol = await peer(server.port, "carol");
  try {
    carol.session.send({ type: "room", name: "#ops" });
    await waitFor(() => carol.seen.all.some((e) => e.type === "moved"), "carol in #ops");
    const alice = new JoinProcess([`${HOST}:${server.port}`, "--name", "alice"]);
    await alice.write("/join #ops\nin ops\n/rooms\n/part\nin main\n");
    const run = await alice.finish();
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /You are now in #ops\. 2 online: alice, carol/);
    assert.match(run.stdout, new RegExp(`^${CLOCK} alice: in ops$`, "m"));
    assert.match(run.stdout, /Rooms \(2\): #main \(1\), #ops \(2\)/);
    assert.match(run.stdout, /You are now in #main\./);
    assert.match(run.stdout, new RegExp(`^${CLOCK} alice: in main$`, "m"));
    assert.deepEqual(carol.seen.texts, ["in ops"]);
    assert.deepEqual(bob.seen.texts, ["in main"]);
  } finally {
    await bob.session.quit();
    await carol.session.quit();
    await server.close();
  }
});

Deno.test("piped --json: room events in, moved and rooms out", async () => {
  const server = await startTestServer();
  const bob = await peer(server.port, "bob");
  try {
    const bot = new JoinProcess([`${HOST}:${server.port}`, "--name", "bot", "--json"]);
    await bot.waitForStdout('"type":"welcome"', "the welcome");
    await bot.write(
      ['{"type":"room","name":"#Bots"}', '{"type":"say","text":"beep"}', '{"type":"rooms"}']
        .join("\n") + "\n",
    );
    await bot.waitForStdout('"type":"rooms"', "the room list");
    const run = await bot.finish();
    assert.equal(run.code, 0, run.stderr);
    const events = run.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.equal(events[0].room, "#main");
    const moved = events.find((e) => e.type === "moved");
    assert.deepEqual(moved, { type: "moved", room: "#bots", users: ["bot"], epoch: moved.epoch });
    assert.match(String(moved.epoch), /^\S+$/, "the room's history has an epoch");
    const message = events.find((e) => e.type === "message");
    assert.deepEqual([message.text, message.room], ["beep", "#bots"]);
    assert.deepEqual(events.find((e) => e.type === "rooms").rooms, [
      { name: "#bots", online: 1 },
      { name: "#main", online: 1 },
    ]);
    assert.deepEqual(bob.seen.texts, [], "#main heard nothing of #bots");
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("piped: a port where another service answers is named as not a chat server", async () => {
  // A stand-in for an SSH server: it speaks first, with its banner, as sshd does.
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = listener.addr.port;
  const served = (async () => {
    for await (const conn of listener) {
      await conn.write(new TextEncoder().encode("SSH-2.0-OpenSSH_9.2\r\n")).catch(() => 0);
      // Read until the client hangs up, as a real server would wait for its half.
      void conn.readable.pipeTo(new WritableStream()).catch(() => {});
    }
  })();
  try {
    const run = await new JoinProcess([`${HOST}:${port}`, "--name", "alice"]).finish();
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      `${HOST}:${port} is not a chat server (it sent "SSH-2.0-OpenSSH_9.2")\n`,
    );
  } finally {
    listener.close();
    await served.catch(() => {});
  }
});

Deno.test("join --help says what stdin must hold with --json", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "join", "--help"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.equal(output.code, 0);
  const help = new TextDecoder().decode(output.stdout);
  const entry = help.slice(help.indexOf("--json"), help.indexOf("--no-color"));
  assert.match(entry, /stdin/, entry);
  assert.match(entry, /\{"type":"say","text":"hi"\}/, entry);
  assert.match(entry, /not (plain )?text/, entry);
});

Deno.test("piped: in a large room, joins and leaves of a moment print as one summary line", async () => {
  const server = await startTestServer({ summaryMembers: 2 });
  const bob = await peer(server.port, "bob");
  const xan = await joinJson(server.port, "xan");
  try {
    const alice = new JoinProcess([`${HOST}:${server.port}`, "--name", "alice"]);
    await waitFor(
      () => bob.seen.all.some((e) => e.type === "join" && e.name === "alice"),
      "alice to join",
    );
    // Out, back and out again in one write: one summary that says xan left.
    const moves = ["#a", "#main", "#a"].map((room) =>
      frame(JSON.stringify({ type: "room", name: room }))
    );
    await xan.client.send(new Uint8Array(moves.flatMap((part) => [...part])));
    await alice.waitForStdout(/-- 1 left: xan \(2 online\)\n/, "the summary line");
    bob.session.send({ type: "say", text: "done" });
    await alice.waitForStdout("bob: done", "bob's message after it");
    const run = await alice.finish();
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /xan joined|xan left|went to another room/);
  } finally {
    await xan.client.close();
    await bob.session.quit();
    await server.close();
  }
});
