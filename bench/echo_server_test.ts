import assert from "node:assert/strict";
import { encodeTextFrame } from "../protocol/frame64.ts";
import { Frame64Parser } from "../protocol/frame64_parser.ts";
import { EchoRelay } from "./echo_server.ts";
import { DEFAULT_LOAD_OPTIONS, runLoad } from "./load.ts";

/** A JSON client of the relay: its events, parsed, in order. */
class _Client {
  readonly events: Record<string, unknown>[] = [];
  readonly #conn: Deno.TcpConn;
  readonly #done: Promise<void>;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    const parser = new Frame64Parser(
      (body) => this.events.push(JSON.parse(new TextDecoder().decode(body))),
      { maxBodyBytes: 1 << 20 },
    );
    this.#done = (async () => {
      const buffer = new Uint8Array(65536);
      try {
        for (;;) {
          const n = await conn.read(buffer);
          if (n === null) return;
          parser.push(buffer.subarray(0, n));
        }
      } catch {
        // Closed by the test.
      }
    })();
  }

  static async connect(port: number, name: string): Promise<_Client> {
    const client = new _Client(await Deno.connect({ hostname: "127.0.0.1", port }));
    await client.send({ type: "hello", name, protocol: 1 });
    return client;
  }

  async send(event: Record<string, unknown>): Promise<void> {
    await this.#conn.write(encodeTextFrame(JSON.stringify(event)));
  }

  /** Waits (5 s at most) for an event of a type (and a name, if given), and returns it. */
  async next(type: string, name?: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const event = this.events.find((event) =>
        event.type === type && (name === undefined || event.name === name)
      );
      if (event !== undefined) return event;
      if (Date.now() > deadline) throw new Error(`no ${type} event within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async close(): Promise<void> {
    this.#conn.close();
    await this.#done;
  }
}

async function withRelay(test: (port: number) => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const relay = new EchoRelay(listener);
  const serving = relay.serve();
  try {
    await test(listener.addr.port);
  } finally {
    relay.close();
    await serving;
  }
}

Deno.test("the relay's welcome lists the users, and a newcomer gets the recent messages", async () => {
  await withRelay(async (port) => {
    const ann = await _Client.connect(port, "ann");
    const bob = await _Client.connect(port, "bob");
    try {
      const welcome = await bob.next("welcome");
      assert.deepEqual(welcome.users, ["ann", "bob"]);
      assert.equal(welcome.room, "#main");
      assert.ok(typeof welcome.limits === "object");
      await ann.send({ type: "say", text: "hello there" });
      for (const client of [ann, bob]) {
        const message = await client.next("message");
        assert.equal(message.from, "ann");
        assert.equal(message.text, "hello there");
      }
      const cy = await _Client.connect(port, "cy");
      try {
        assert.deepEqual((await cy.next("welcome")).users, ["ann", "bob", "cy"]);
        const replayed = await cy.next("message");
        assert.equal(replayed.text, "hello there", "the recent message, replayed");
        assert.equal(replayed.history, true);
        assert.equal((await bob.next("join", "cy")).online, 3);
      } finally {
        await cy.close();
      }
    } finally {
      await ann.close();
      await bob.close();
    }
  });
});

Deno.test("the relay delivers every message of a closed-loop run to every client, in rounds", async () => {
  await withRelay(async (port) => {
    const result = await runLoad({
      ...DEFAULT_LOAD_OPTIONS,
      port,
      clients: 12,
      senders: 3,
      window: 4,
      warmup: 0.2,
      duration: 0.5,
      drain: 2,
      connectTimeout: 10,
    }, () => {});
    assert.equal(result.joined, 12);
    assert.ok(result.delivered > 0, "messages were measured");
    assert.equal(result.delivered, result.expected, "nothing lost");
  });
});
