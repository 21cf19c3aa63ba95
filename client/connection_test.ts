import assert from "node:assert/strict";
import { encodeTextFrame } from "../protocol/frame64.ts";
import type { ServerEvent } from "../protocol/events.ts";
import {
  ChatConnection,
  classifyConnectError,
  ConnectError,
  formatAddress,
  openConnection,
  type Transport,
} from "./connection.ts";

function memoryTransport(chunks: Uint8Array[]): { transport: Transport; sent: string[] } {
  const sent: string[] = [];
  let closes = 0;
  const transport: Transport = {
    readable: ReadableStream.from(chunks),
    writable: new WritableStream({
      write: (chunk) => void sent.push(new TextDecoder().decode(chunk)),
    }),
    close: () => {
      closes++;
      if (closes > 1) throw new Deno.errors.BadResource("closed twice");
    },
  };
  return { transport, sent };
}

async function collect(connection: ChatConnection): Promise<ServerEvent[][]> {
  const batches: ServerEvent[][] = [];
  for await (const batch of connection.batches()) batches.push(batch);
  return batches;
}

Deno.test("formatAddress brackets IPv6 addresses", () => {
  assert.equal(formatAddress("::1", 5050), "[::1]:5050");
  assert.equal(formatAddress("example.org", 1), "example.org:1");
});

Deno.test("openConnection says 'connection refused' and suggests chat serve", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const error = await openConnection("127.0.0.1", port).then(
    () => assert.fail("connected to a closed port"),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ConnectError);
  assert.equal(error.failure, "refused");
  assert.equal(
    error.message,
    `Could not connect to 127.0.0.1:${port}: connection refused. Is a server running there? ` +
      "Start one with 'deno task serve'",
  );
});

Deno.test("openConnection gives up after the timeout", async () => {
  const started = Date.now();
  const error = await openConnection("192.0.2.1", 5050, {
    timeoutMs: 50,
    dial: () => new Promise<Transport>(() => {}),
  }).catch((caught: unknown) => caught);
  assert.ok(error instanceof ConnectError);
  assert.equal(error.failure, "timeout");
  assert.match(
    error.message,
    /^Could not connect to 192\.0\.2\.1:5050: no answer within 0\.05 s\./,
  );
  assert.ok(Date.now() - started < 2000);
});

Deno.test("openConnection names an unknown host", async () => {
  const error = await openConnection("no-such-host.invalid", 5050, {
    dial: () =>
      Promise.reject(new Error("failed to lookup address information: Name or service not known")),
  }).catch((caught: unknown) => caught);
  assert.ok(error instanceof ConnectError);
  assert.equal(error.failure, "unknown_host");
  assert.match(error.message, /no-such-host\.invalid:5050: unknown host.*deno task serve/);
});

Deno.test("classifyConnectError sorts the system's errors", () => {
  assert.equal(classifyConnectError(new Deno.errors.ConnectionRefused("x")), "refused");
  assert.equal(classifyConnectError(new Deno.errors.TimedOut("x")), "timeout");
  assert.equal(
    classifyConnectError(new Error("Network is unreachable (os error 101)")),
    "unreachable",
  );
  assert.equal(classifyConnectError(new Error("something odd")), "other");
  assert.match(
    new ConnectError("h:1", "other", "Odd thing (os error 5)").message,
    /h:1: Odd thing\. Is/,
  );
});

Deno.test("ChatConnection yields the events of each read as one batch and skips junk", async () => {
  const frames = [
    '{"type":"who","users":["a"]}',
    "not json",
    '{"type":"mystery"}',
    '{"type":"shutdown","message":"bye"}',
  ].map(encodeTextFrame);
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    all.set(frame, offset);
    offset += frame.length;
  }
  // First read: the first two frames and half of the third; second read: the rest.
  const cut = frames[0]!.length + frames[1]!.length + 10;
  const { transport } = memoryTransport([all.subarray(0, cut), all.subarray(cut)]);
  const connection = new ChatConnection(transport);
  const batches = await collect(connection);
  assert.deepEqual(batches.map((batch) => batch.map((event) => event.type)), [
    ["who"],
    ["shutdown"],
  ]);
  assert.equal(connection.closed, true);
  assert.equal(connection.closeReason, "the server closed the connection");
  connection.close();
});

Deno.test("ChatConnection closes on a framing error from the server", async () => {
  const bad = new TextEncoder().encode("xx" + " ".repeat(62));
  const { transport } = memoryTransport([encodeTextFrame('{"type":"ping"}'), bad]);
  const connection = new ChatConnection(transport);
  const batches = await collect(connection);
  assert.deepEqual(batches, [[{ type: "ping" }]]);
  assert.match(connection.closeReason, /Frame header/);
});

Deno.test("ChatConnection sends frames in order and refuses to send once closed", async () => {
  const { transport, sent } = memoryTransport([]);
  const connection = new ChatConnection(transport);
  assert.equal(connection.send({ type: "say", text: "one" }), true);
  assert.equal(connection.send({ type: "say", text: "two" }), true);
  await connection.drain();
  assert.deepEqual(sent.map((frame) => frame.slice(64)), [
    '{"type":"say","text":"one"}',
    '{"type":"say","text":"two"}',
  ]);
  assert.equal(sent[0]!.slice(0, 64).trimEnd(), "27");
  connection.close();
  connection.close();
  assert.equal(connection.send({ type: "who" }), false);
  assert.equal(connection.closeReason, "closed by the client");
});
