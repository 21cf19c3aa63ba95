import assert from "node:assert/strict";
import { encodeTextFrame } from "../protocol/frame64.ts";
import { type Inbound, type InboundHandler, InboundParser } from "./inbound.ts";

/** A parser whose items are collected, with the server's default sizes. */
function parser(): { inbound: InboundParser; items: Inbound[] } {
  const items: Inbound[] = [];
  const handler: InboundHandler = {
    onPrefix: () => false,
    onFraming: () => {},
    onTextMode: () => {},
    onInbound: (item) => items.push(item),
    onReply: () => {},
    onInputError: (error) => {
      throw error;
    },
  };
  return { inbound: new InboundParser(handler, { maxMessageBytes: 4096, rawPauseMs: 50 }), items };
}

Deno.test("InboundParser compact between frames loses nothing, before a frame or inside one", () => {
  const { inbound, items } = parser();
  inbound.push(encodeTextFrame(JSON.stringify({ type: "hello", name: "alice", protocol: 1 })));
  inbound.setJoined(true);
  inbound.compact();
  inbound.push(encodeTextFrame(JSON.stringify({ type: "say", text: "one" })));
  const split = encodeTextFrame(JSON.stringify({ type: "say", text: "two" }));
  inbound.push(split.subarray(0, 70));
  inbound.compact(); // a frame under way keeps its parser
  assert.ok(inbound.frameStartedAt > 0);
  inbound.push(split.subarray(70));
  inbound.compact();
  // The limit once joined still applies to a parser made after a compact.
  const long = encodeTextFrame(JSON.stringify({ type: "say", text: "x".repeat(2000) }));
  inbound.push(long);
  assert.deepEqual(items.map((item) => item.kind), ["handshake", "command", "command", "command"]);
  const texts = items.flatMap((item) =>
    item.kind === "command" && item.command.kind === "say" ? [item.command.text.length] : []
  );
  assert.deepEqual(texts, [3, 3, 2000]);
});
