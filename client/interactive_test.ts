import assert from "node:assert/strict";
import {
  FakeTerminal,
  Recorder,
  startTestServer,
  waitFor,
} from "../tests/support/client_harness.ts";
import { runInteractive } from "./interactive.ts";
import { BRACKETED_PASTE_OFF, BRACKETED_PASTE_ON } from "./keys.ts";
import { ChatSession } from "./session.ts";

const HOST = "127.0.0.1";
// deno-lint-ignore no-control-regex
const SGR = /\x1b\[[0-9;]*m/;

async function peer(port: number, name: string): Promise<{ session: ChatSession; seen: Recorder }> {
  const seen = new Recorder();
  const session = new ChatSession({ host: HOST, port, reconnect: false }, seen);
  await session.connect();
  await session.join(name);
  return { session, seen };
}

function screenText(term: FakeTerminal): string {
  return term.screen.lines().join("\n");
}

Deno.test("interactive: messages arriving while typing print above and the half line stays", async () => {
  const server = await startTestServer();
  const term = new FakeTerminal(80, 12);
  const bob = await peer(server.port, "bob");
  const run = runInteractive({
    host: HOST,
    port: server.port,
    name: "alice",
    color: true,
    reconnect: false,
    terminal: term,
  });
  try {
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
    term.type("half a li");
    await waitFor(() => term.screen.cursorLine === "alice #main> half a li", "the typed text");
    for (const text of ["first", "second", "third"]) bob.session.send({ type: "say", text });
    await waitFor(() => screenText(term).includes("bob: third"), "the three messages");
    const lines = term.screen.lines().filter((line) => line !== "");
    const last = lines.slice(-4);
    assert.match(last[0]!, /^\d\d:\d\d bob: first$/);
    assert.match(last[1]!, /^\d\d:\d\d bob: second$/);
    assert.match(last[2]!, /^\d\d:\d\d bob: third$/);
    assert.equal(last[3], "alice #main> half a li");
    assert.equal(term.screen.cursorLine, "alice #main> half a li");
    assert.equal(
      term.screen.column,
      "alice #main> half a li".length,
      "the cursor is after the text",
    );
    // Finish the line: the server's echo shows what the room got.
    term.type("ne\r");
    await waitFor(() => bob.seen.texts.includes("half a line"), "bob to get the line");
    await waitFor(() => screenText(term).includes("alice: half a line"), "the echo");
    assert.equal(term.screen.cursorLine, "alice #main>");
    assert.ok(SGR.test(term.output), "colours are on");
  } finally {
    term.type("\x04");
    assert.equal(await run, 0);
    await bob.session.quit();
    await server.close();
  }
  assert.deepEqual(term.rawModes, [true, false], "raw mode on, then restored");
  assert.ok(term.output.startsWith(BRACKETED_PASTE_ON));
  assert.ok(term.output.endsWith(BRACKETED_PASTE_OFF));
});

Deno.test("interactive: Ctrl-D leaves with bye and the others see the leave", async () => {
  const server = await startTestServer();
  const term = new FakeTerminal();
  const bob = await peer(server.port, "bob");
  try {
    const run = runInteractive({
      host: HOST,
      port: server.port,
      name: "alice",
      color: false,
      reconnect: true,
      terminal: term,
    });
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
    term.type("typed but not sent\x03\x04");
    assert.equal(await run, 0);
    await waitFor(
      () =>
        bob.seen.all.some((e) => e.type === "leave" && e.name === "alice" && e.reason === "quit"),
      "bob to see alice leave",
    );
    assert.ok(!bob.seen.texts.includes("typed but not sent"));
    assert.ok(screenText(term).includes("-- You left the chat"));
    assert.equal(term.screen.cursorLine, "", "the input line is cleared on the way out");
    assert.deepEqual(term.rawModes, [true, false]);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("interactive: without colour no colour sequence is written", async () => {
  const server = await startTestServer({ motd: "hello\x1b[31m world" });
  const term = new FakeTerminal();
  const bob = await peer(server.port, "bob");
  try {
    const run = runInteractive({
      host: HOST,
      port: server.port,
      name: "alice",
      color: false,
      reconnect: false,
      terminal: term,
    });
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
    bob.session.send({ type: "say", text: "hi \x1b[1malice\x1b[0m" });
    bob.session.send({ type: "me", text: "waves" });
    bob.session.send({ type: "dm", to: "alice", text: "psst" });
    await waitFor(() => screenText(term).includes("psst"), "the private message");
    term.type("/quit\r");
    assert.equal(await run, 0);
    assert.doesNotMatch(term.output, SGR);
    assert.ok(screenText(term).includes("bob: hi alice"), "escapes from the network are gone");
    assert.ok(screenText(term).includes("* bob waves"));
    assert.ok(screenText(term).includes("[dm] bob → alice: psst"));
    assert.ok(term.screen.bells >= 1, "a mention rings the bell");
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("interactive: a pasted block of lines is sent as one message", async () => {
  const server = await startTestServer();
  const term = new FakeTerminal();
  const bob = await peer(server.port, "bob");
  try {
    const run = runInteractive({
      host: HOST,
      port: server.port,
      name: "alice",
      color: false,
      reconnect: false,
      terminal: term,
    });
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
    term.type("\x1b[200~line one\r\nline two\r\nline three\x1b[201~");
    await waitFor(() => term.screen.cursorLine.includes("↵"), "the paste on the input line");
    term.type("\r");
    await waitFor(() => bob.seen.texts.length === 1, "bob to get the paste");
    assert.deepEqual(bob.seen.texts, ["line one\nline two\nline three"]);
    await waitFor(() => screenText(term).includes("line three"), "the echo");
    const lines = term.screen.lines();
    const first = lines.findIndex((line) => line.endsWith("alice: line one"));
    assert.ok(first >= 0);
    assert.match(lines[first + 1]!, /^ +line two$/);
    term.type("\x03");
    assert.equal(await run, 0);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("interactive: asks for a name, offering the default, and again when it is taken", async () => {
  const server = await startTestServer();
  const term = new FakeTerminal();
  const bob = await peer(server.port, "bob");
  try {
    const run = runInteractive({
      host: HOST,
      port: server.port,
      defaultName: "bob",
      color: false,
      reconnect: false,
      terminal: term,
    });
    await waitFor(() => term.screen.cursorLine === "Your name [bob]:", "the name prompt");
    term.type("\r");
    await waitFor(() => screenText(term).includes("!! "), "the server's reason");
    assert.match(screenText(term), /!! .*taken/i);
    assert.equal(term.screen.cursorLine, "Your name [bob]:");
    term.type("no spaces\r");
    await waitFor(() => screenText(term).includes("Names may only contain"), "the local check");
    term.type("alice\r");
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the chat prompt");
    assert.ok(screenText(term).includes("Welcome to"));
    term.type("\x04");
    assert.equal(await run, 0);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("interactive: Tab completes names and /reply answers the last private message", async () => {
  const server = await startTestServer();
  const term = new FakeTerminal();
  const bob = await peer(server.port, "bobby");
  try {
    const run = runInteractive({
      host: HOST,
      port: server.port,
      name: "alice",
      color: false,
      reconnect: false,
      terminal: term,
    });
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
    term.type("bo\t");
    await waitFor(() => term.screen.cursorLine === "alice #main> bobby:", "the completed name");
    term.type("hi\r");
    await waitFor(() => bob.seen.texts.includes("bobby: hi"), "the message");
    bob.session.send({ type: "dm", to: "alice", text: "secret?" });
    await waitFor(() => screenText(term).includes("secret?"), "the private message");
    term.type("/reply yes\r");
    await waitFor(
      () => bob.seen.all.some((e) => e.type === "dm" && e.from === "alice" && e.text === "yes"),
      "the reply",
    );
    term.type("/help\r");
    await waitFor(() => screenText(term).includes("/reply TEXT"), "the help");
    term.type("\x04");
    assert.equal(await run, 0);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("interactive: a lost connection with reconnecting off ends with exit code 1", async () => {
  const server = await startTestServer();
  const term = new FakeTerminal();
  const run = runInteractive({
    host: HOST,
    port: server.port,
    name: "alice",
    color: false,
    reconnect: false,
    terminal: term,
  });
  try {
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
  } finally {
    await server.close("Back soon");
  }
  assert.equal(await run, 1);
  const text = screenText(term);
  assert.ok(text.includes("!! The server is shutting down: Back soon"));
  assert.ok(text.includes("!! Connection lost"));
  assert.deepEqual(term.rawModes, [true, false]);
});

Deno.test("interactive: SIGTERM leaves cleanly", async () => {
  const server = await startTestServer();
  const term = new FakeTerminal();
  const bob = await peer(server.port, "bob");
  try {
    const run = runInteractive({
      host: HOST,
      port: server.port,
      name: "alice",
      color: false,
      reconnect: true,
      terminal: term,
    });
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
    term.terminate();
    assert.equal(await run, 0);
    await waitFor(
      () => bob.seen.all.some((e) => e.type === "leave" && e.reason === "quit"),
      "the leave",
    );
    assert.deepEqual(term.rawModes, [true, false]);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("interactive: a burst of 1000 messages is drawn in a few writes", async () => {
  const server = await startTestServer({ history: 0 });
  const term = new FakeTerminal(100, 30);
  const bob = await peer(server.port, "bob");
  try {
    const run = runInteractive({
      host: HOST,
      port: server.port,
      name: "alice",
      color: true,
      reconnect: false,
      terminal: term,
    });
    await waitFor(() => term.screen.cursorLine.startsWith("alice"), "the prompt");
    term.type("draft");
    await waitFor(() => term.screen.cursorLine.endsWith("draft"), "the draft");
    const before = term.writes.length;
    for (let i = 1; i <= 1000; i++) bob.session.send({ type: "say", text: `message ${i}` });
    await waitFor(() => screenText(term).includes("bob: message 1000"), "the whole burst");
    const writes = term.writes.length - before;
    assert.ok(writes <= 100, `${writes} writes for 1000 messages`);
    assert.ok(term.screen.cursorLine.endsWith("> draft"));
    term.type("\x03\x04");
    assert.equal(await run, 0);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("interactive: a long replay scrolls in over many writes; Enter on an empty line shows the rest", async () => {
  const server = await startTestServer({ history: 400 });
  const term = new FakeTerminal(100, 30);
  const bob = await peer(server.port, "bob");
  try {
    for (let i = 1; i <= 400; i++) bob.session.send({ type: "say", text: `old ${i}` });
    await waitFor(() => bob.seen.texts.includes("old 400"), "bob's last echo");
    const run = runInteractive({
      host: HOST,
      port: server.port,
      name: "alice",
      color: false,
      reconnect: false,
      terminal: term,
    });
    await waitFor(() => screenText(term).includes("catching up"), "the catch-up under way");
    const printed = () => term.writes.filter((write) => write.includes("bob: old "));
    await waitFor(() => printed().length >= 3, "three frames");
    const shown = (text: string) => term.output.includes(`bob: ${text}\r\n`);
    assert.ok(shown("old 1") && !shown("old 400"), "the first lines, not all of them");
    // Frames of a few lines each, not a screenful.
    assert.ok(printed().every((write) => write.split("bob: old ").length - 1 <= 20), "small");
    term.type("\r");
    await waitFor(() => shown("old 400"), "the rest at once after Enter", 1000);
    await waitFor(() => !screenText(term).includes("catching up"), "the status row gone");
    const order = [...term.output.matchAll(/bob: old (\d+)\r\n/g)].map((m) => Number(m[1]));
    assert.deepEqual(order, Array.from({ length: 400 }, (_, i) => i + 1), "in order, once each");
    term.type("\x04");
    assert.equal(await run, 0);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("interactive: the first connection failing throws before the terminal is touched", async () => {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = listener.addr.port;
  listener.close();
  const term = new FakeTerminal();
  await assert.rejects(
    runInteractive({ host: HOST, port, name: "a", color: false, reconnect: false, terminal: term }),
    /Could not connect to 127\.0\.0\.1:\d+: connection refused/,
  );
  assert.deepEqual(term.rawModes, []);
  assert.deepEqual(term.writes, []);
});

Deno.test("interactive: a long input scrolls sideways and follows a resize", async () => {
  const server = await startTestServer();
  const term = new FakeTerminal(40, 10);
  try {
    const run = runInteractive({
      host: HOST,
      port: server.port,
      name: "alice",
      color: false,
      reconnect: false,
      terminal: term,
    });
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
    const long = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
    term.type(long);
    await waitFor(() => term.screen.cursorLine.endsWith("GHIJ"), "the end of the input");
    assert.equal(term.screen.cursorLine, `alice #main> ${long.slice(-25)}`);
    assert.equal(term.screen.column, 38, "the last column stays free, so no wrap");
    term.resize(20);
    await waitFor(
      () => term.screen.cursorLine === `alice #main> ${long.slice(-5)}`,
      "the resized line",
    );
    term.type("\x01");
    await waitFor(() => term.screen.cursorLine === `alice #main> ${long.slice(0, 6)}`, "Home");
    assert.equal(term.screen.column, 13);
    term.type("\x03\x04");
    assert.equal(await run, 0);
  } finally {
    await server.close();
  }
});

Deno.test("interactive: a crash puts the terminal back before the process dies", async () => {
  const server = await startTestServer();
  const term = new FakeTerminal();
  try {
    const run = runInteractive({
      host: HOST,
      port: server.port,
      name: "alice",
      color: false,
      reconnect: false,
      terminal: term,
    });
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
    globalThis.dispatchEvent(new ErrorEvent("error", { error: new Error("a bug") }));
    assert.equal(term.restoredNow, 1);
    assert.deepEqual(term.rawModes, [true, false]);
    assert.ok(term.output.endsWith(BRACKETED_PASTE_OFF));
    term.type("\x04");
    assert.equal(await run, 0);
  } finally {
    await server.close();
  }
});

Deno.test("interactive: after a shutdown one status row tells it, typed lines wait, and it reconnects", async () => {
  const first = await startTestServer({ history: 5 });
  const port = first.port;
  const term = new FakeTerminal(100, 20);
  let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
  const bob = await peer(port, "bob");
  try {
    const run = runInteractive({
      host: HOST,
      port,
      name: "alice",
      color: false,
      reconnect: true,
      terminal: term,
      backoff: () => 200,
    });
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
    bob.session.send({ type: "say", text: "before the restart" });
    await waitFor(() => screenText(term).includes("before the restart"), "the first message");
    const linesBefore = term.screen.lines().filter((line) => line !== "").length;
    await first.close("Restarting for an upgrade");
    await waitFor(() => term.screen.cursorLine === "(offline) alice #main>", "the offline prompt");
    await waitFor(
      () =>
        screenText(term).includes("-- offline (the server shut down: Restarting for an upgrade)"),
      "the status row",
    );
    // Attempts fail every 200 ms; the status row changes in place and nothing else is printed.
    await waitFor(() => screenText(term).includes("connection refused"), "a failed attempt");
    const lines = term.screen.lines().filter((line) => line !== "");
    assert.equal(lines.length, linesBefore + 1, lines.join("\n"));
    assert.ok(!screenText(term).includes("!!"), "no error lines");
    term.type("hello?\r");
    await waitFor(
      () => screenText(term).includes("-- 1 line waiting to be sent · offline ("),
      "the queue",
    );
    assert.equal(term.screen.cursorLine, "(offline) alice #main>", "the line went into the queue");
    second = await startTestServer({ port, history: 5 });
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the reconnection", 10_000);
    await waitFor(() => screenText(term).includes("alice: hello?"), "the queued line, sent");
    assert.match(
      screenText(term),
      /-- Reconnected as alice after \d+ s offline \(the server shut down: Restarting for an upgrade\)$/m,
    );
    assert.ok(!screenText(term).includes("-- offline"), "the status row is gone");
    term.type("\x04");
    assert.equal(await run, 0);
  } finally {
    await bob.session.quit();
    await first.close();
    await second?.close();
  }
});

Deno.test("interactive: /join shows the room in the prompt, /rooms lists them, Tab completes rooms", async () => {
  const server = await startTestServer();
  const term = new FakeTerminal();
  const bob = await peer(server.port, "bobby");
  try {
    bob.session.send({ type: "room", name: "#rust" });
    const run = runInteractive({
      host: HOST,
      port: server.port,
      name: "alice",
      color: false,
      reconnect: false,
      terminal: term,
    });
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the prompt");
    term.type("/rooms\r");
    await waitFor(
      () => screenText(term).includes("Rooms (2): #main (1), #rust (1)"),
      "the list: " + screenText(term),
    );
    term.type("/join #r\t");
    await waitFor(
      () => term.screen.cursorLine === "alice #main> /join #rust",
      "the completed room",
    );
    term.type("\r");
    await waitFor(() => term.screen.cursorLine === "alice #rust>", "the new room in the prompt");
    assert.ok(screenText(term).includes("You are now in #rust."));
    await waitFor(
      () => bob.seen.all.some((e) => e.type === "join" && e.name === "alice" && e.room === "#rust"),
      "bob to see alice arrive",
    );
    term.type("here\r");
    await waitFor(() => bob.seen.texts.includes("here"), "the message in #rust");
    term.type("/part\r");
    await waitFor(() => term.screen.cursorLine === "alice #main>", "back in #main");
    term.type("\x04");
    assert.equal(await run, 0);
  } finally {
    await bob.session.quit();
    await server.close();
  }
});

Deno.test("interactive: a server that wants a password asks for it, drawn as stars", async () => {
  const server = await startTestServer({ password: "s3cret" });
  const term = new FakeTerminal(80, 12);
  const run = runInteractive({
    host: HOST,
    port: server.port,
    name: "alice",
    color: false,
    reconnect: false,
    terminal: term,
  });
  try {
    await waitFor(() => term.screen.cursorLine === "Password:", "the password prompt");
    assert.match(screenText(term), /This server needs a password/);
    term.type("nope123\r");
    await waitFor(() => screenText(term).includes("Wrong password"), "the refusal");
    await waitFor(() => term.screen.cursorLine === "Password:", "the prompt again");
    term.type("s3cret");
    await waitFor(() => term.screen.cursorLine === "Password: ******", "the stars");
    term.type("\r");
    await waitFor(() => term.screen.cursorLine === "alice #main>", "the chat prompt");
    assert.ok(!term.output.includes("s3cret"), "the password never reached the screen");
    assert.ok(!term.output.includes("nope123"), "nor the wrong one");
  } finally {
    term.type("\x04");
    assert.equal(await run, 0);
    await server.close();
  }
});
