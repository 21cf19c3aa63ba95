/**
 * Integration tests of the server log, with the server in-process over real TCP on port 0 and
 * its log gathered in memory: the events and fields of each line, `--log json`, `--quiet`, and
 * chat text only with `--log-messages`.
 */

import assert from "node:assert/strict";
import {
  closeAll,
  joinJson,
  joinLine,
  startTestServer,
  type TestServer,
  waitUntil,
} from "./support/net.ts";

const SECRET = "the secret is 4711";
const TEXT_LINE =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (ERROR )?([a-z_]+)( [a-z_]+=("[^"]*"|\S*))*$/;

/** Runs a short session: two clients join, chat (including a dm), one errs, both leave. */
async function session(server: TestServer): Promise<void> {
  const alice = await joinJson(server.port, "alice");
  const bob = await joinLine(server.port, "bob");
  try {
    await bob.waitForLine("type /help");
    await alice.client.sendJson({ type: "say", text: SECRET });
    await alice.client.sendJson({ type: "dm", to: "bob", text: `dm: ${SECRET}` });
    await bob.waitForLine(`[dm] alice: dm: ${SECRET}`);
    await alice.client.sendJson({ type: "nonsense" });
    await alice.client.waitForEvent("error");
    await alice.client.sendJson({ type: "bye" });
    await alice.client.waitClosed();
    await alice.client.close();
    await waitUntil(() => server.server.connections === 1, "alice's session to close");
    await bob.close();
    await waitUntil(() => server.server.connections === 0, "every session to close");
  } finally {
    await closeAll([alice.client, bob]);
  }
}

/** Splits a text log line into its time, level, event and fields. */
function parseTextLine(line: string) {
  const match = TEXT_LINE.exec(line);
  assert.ok(match !== null, `not a log line: ${JSON.stringify(line)}`);
  const fields: Record<string, string> = {};
  for (const [, key, value] of line.matchAll(/ ([a-z_]+)=("[^"]*"|\S*)/g)) {
    fields[key!] = value!.startsWith('"') ? JSON.parse(value!) : value!;
  }
  return {
    ts: match[1]!,
    level: match[2] === undefined ? "info" : "error",
    event: match[3]!,
    fields,
  };
}

Deno.test("serve log: connect, framing, join, leave, errors and the active count", async () => {
  const server = await startTestServer();
  try {
    await session(server);
  } finally {
    await server.close();
  }
  const lines = server.logLines.map(parseTextLine);
  for (const line of lines) {
    assert.ok(Math.abs(Date.parse(line.ts) - Date.now()) < 60_000, line.ts);
  }
  const events = lines.map((l) => l.event);
  const find = (event: string, test: (f: Record<string, string>) => boolean = () => true) => {
    const line = lines.find((l) => l.event === event && test(l.fields));
    assert.ok(line, `no ${event} line in:\n${server.logLines.join("\n")}`);
    return line.fields;
  };

  const connects = lines.filter((l) => l.event === "connect");
  assert.equal(connects.length, 2);
  assert.match(connects[0]!.fields.peer!, /^127\.0\.0\.1:\d+$/);
  assert.deepEqual(connects.map((l) => l.fields.active), ["1", "2"]);
  assert.equal(find("framing", (f) => f.framing === "frame64").peer, connects[0]!.fields.peer);
  assert.equal(find("framing", (f) => f.framing === "line").peer, connects[1]!.fields.peer);

  assert.deepEqual(
    { ...find("join", (f) => f.name === "alice") },
    { name: "alice", peer: connects[0]!.fields.peer!, style: "json", online: "1" },
  );
  assert.equal(find("join", (f) => f.name === "bob").online, "2");
  assert.equal(find("client_error").code, "unknown_type");

  assert.equal(find("leave", (f) => f.name === "alice").reason, "quit");
  assert.equal(find("leave", (f) => f.name === "bob").reason, "closed");
  const disconnects = lines.filter((l) => l.event === "disconnect");
  assert.deepEqual(disconnects.map((l) => l.fields.active), ["1", "0"]);
  assert.deepEqual(disconnects.map((l) => l.fields.reason), ["quit", "closed"]);
  assert.equal(events.at(-1), "stopped");

  // Chat text is not logged without --log-messages.
  assert.ok(!server.logLines.some((line) => line.includes("4711")), server.logLines.join("\n"));
  assert.ok(!events.includes("message"));
});

Deno.test("serve log: --log-messages adds the chat text, dms included", async () => {
  const server = await startTestServer({ logMessages: true });
  try {
    await session(server);
  } finally {
    await server.close();
  }
  const messages = server.logLines.map(parseTextLine).filter((l) => l.event === "message");
  assert.equal(messages.length, 2, server.logLines.join("\n"));
  assert.deepEqual(
    { ...messages[0]!.fields, id: "" },
    { from: "alice", id: "", kind: "say", text: SECRET },
  );
  assert.deepEqual(
    { ...messages[1]!.fields, id: "" },
    { from: "alice", to: "bob", id: "", kind: "dm", text: `dm: ${SECRET}` },
  );
});

Deno.test("serve log: --log json prints the same events as JSON lines", async () => {
  const server = await startTestServer({ log: "json", logMessages: true });
  try {
    await session(server);
  } finally {
    await server.close();
  }
  const records = server.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const record of records) {
    assert.match(String(record.ts), /^\d{4}-\d\d-\d\dT/);
    assert.ok(record.level === "info" || record.level === "error", JSON.stringify(record));
    assert.equal(typeof record.event, "string");
  }
  const connect = records.find((r) => r.event === "connect");
  assert.equal(connect?.active, 1, "numbers stay numbers");
  const join = records.find((r) => r.event === "join" && r.name === "alice");
  assert.equal(join?.online, 1);
  const leave = records.find((r) => r.event === "leave" && r.name === "alice");
  assert.equal(leave?.reason, "quit");
  const message = records.find((r) => r.event === "message" && r.kind === "say");
  assert.equal(message?.text, SECRET);
  assert.deepEqual(
    records.filter((r) => r.event === "disconnect").map((r) => r.active),
    [1, 0],
  );
});

Deno.test("serve log: --quiet leaves out everything but errors", async () => {
  const server = await startTestServer({ quiet: true, logMessages: true });
  try {
    await session(server);
  } finally {
    await server.close();
  }
  assert.deepEqual(server.logLines, []);
});
