import assert from "node:assert/strict";
import { UsageError } from "../flags/usage_error.ts";
import { encodeTextFrame } from "../protocol/frame64.ts";
import { Frame64Parser } from "../protocol/frame64_parser.ts";
import { DEFAULT_SERVE_CONFIG, startServer } from "../server/mod.ts";
import {
  DEFAULT_LOAD_OPTIONS,
  type LoadEvent,
  type LoadOptions,
  parseLoadArgs,
  runLoad,
} from "./load.ts";

const BENCH_CONFIG = {
  ...DEFAULT_SERVE_CONFIG,
  host: "127.0.0.1",
  port: 0,
  quiet: true,
  ratePerSecond: 0,
  maxPerIp: 0,
};

function options(port: number, overrides: Partial<LoadOptions>): LoadOptions {
  return {
    ...DEFAULT_LOAD_OPTIONS,
    port,
    warmup: 0.2,
    duration: 0.5,
    drain: 2,
    hold: 0.2,
    connectTimeout: 10,
    ...overrides,
  };
}

Deno.test("runLoad counts each name of a presence summary as a join notice, so a large room settles", async () => {
  const server = await startServer({ ...BENCH_CONFIG, summaryMembers: 4 });
  try {
    const result = await runLoad(options(server.port, { clients: 12, senders: 0 }), () => {});
    assert.equal(result.joined, 12);
    assert.equal(result.settled, true);
    assert.equal(result.joinEvents, (12 * 11) / 2, "no notice lost, none counted twice");
  } finally {
    await server.close();
  }
});

Deno.test("runLoad closed loop: every window message reaches every other client, checked", async () => {
  const server = await startServer(BENCH_CONFIG);
  try {
    const events: LoadEvent[] = [];
    const result = await runLoad(
      options(server.port, { clients: 12, senders: 3, window: 4 }),
      (event) => events.push(event),
    );
    assert.deepEqual(events.map((event) => event.event), [
      "joined",
      "settled",
      "measure_start",
      "measure_end",
    ]);
    assert.equal(result.joined, 12);
    assert.equal(result.settled, true);
    assert.equal(result.joinEvents, (12 * 11) / 2);
    assert.ok(result.sentInWindow > 0);
    assert.equal(result.expected, result.sentInWindow * 11);
    assert.equal(result.delivered, result.expected);
    assert.equal(result.lossPct, 0);
    assert.equal(result.echoes, result.sentInWindow);
    assert.equal(result.latencyUs.count, result.delivered);
    assert.ok(result.latencyUs.p50 !== null && result.latencyUs.p50 > 0);
    assert.ok(result.deliveriesPerSec > 0);
    for (
      const counter of [
        "corrupt",
        "misattributed",
        "reordered",
        "gaps",
        "badJson",
        "hsErrors",
        "serverErrors",
        "eofs",
        "readErrors",
        "writeErrors",
      ] as const
    ) {
      assert.equal(result[counter], 0, counter);
    }
    assert.equal(result.liveAtEnd, 12);
  } finally {
    await server.close();
  }
});

Deno.test("runLoad open loop sends on schedule and measures latency", async () => {
  const server = await startServer(BENCH_CONFIG);
  try {
    const result = await runLoad(
      options(server.port, { clients: 8, senders: 2, rate: 100, duration: 1 }),
    );
    // 2 senders x 100/s x 1 s, one send due every 5 ms. A send is counted by when it went out,
    // so a late tick (a busy machine) can move the sends due within its lateness across either
    // edge of the window: the slack is what the measured lateness allows, and no more.
    const lagMaxUs = result.schedLagUs.max ?? 0;
    const slack = 2 * (Math.ceil(lagMaxUs / 5000) + 1);
    assert.ok(
      Math.abs(result.sentInWindow - 200) <= slack,
      `sent ${result.sentInWindow}, slack ${slack} for a ${Math.round(lagMaxUs)} us late tick`,
    );
    assert.equal(result.delivered, result.sentInWindow * 7);
    assert.ok(result.schedLagUs.mean !== null);
    assert.equal(result.stalled, 0);
  } finally {
    await server.close();
  }
});

Deno.test("runLoad idle run joins, holds and reports live connections", async () => {
  const server = await startServer(BENCH_CONFIG);
  try {
    const events: string[] = [];
    const result = await runLoad(
      options(server.port, { clients: 30, senders: 0, batch: 7 }),
      (event) => events.push(event.event),
    );
    assert.deepEqual(events, ["joined", "settled", "hold_start", "hold_end"]);
    assert.equal(result.joined, 30);
    assert.equal(result.joinEvents, (30 * 29) / 2);
    assert.equal(result.liveAtEnd, 30);
    assert.equal(result.sent, 0);
    assert.equal(result.lossPct, null);
  } finally {
    await server.close();
  }
});

Deno.test("runLoad counts a refused hello and joins the rest", async () => {
  const server = await startServer(BENCH_CONFIG);
  // Take the name user1 first, so the load's user1 gets name_taken.
  const squatter = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    let welcomed!: () => void;
    const welcome = new Promise<void>((resolve) => welcomed = resolve);
    const parser = new Frame64Parser((body) => {
      if (new TextDecoder().decode(body).includes('"welcome"')) welcomed();
    }, { maxBodyBytes: 1 << 20 });
    await squatter.write(encodeTextFrame('{"type":"hello","name":"user1","protocol":1}'));
    const buffer = new Uint8Array(65536);
    const reading = (async () => {
      for (;;) {
        const n = await squatter.read(buffer).catch(() => null);
        if (n === null) return;
        parser.push(buffer.subarray(0, n));
      }
    })();
    await welcome;
    const result = await runLoad(options(server.port, { clients: 4, senders: 0 }));
    assert.equal(result.joined, 3);
    assert.equal(result.hsErrors, 1);
    assert.match(result.firstError ?? "", /name_taken/);
    squatter.close();
    await reading;
  } finally {
    await server.close();
  }
});

Deno.test("runLoad gives up joining at the connect timeout when nothing answers", async () => {
  // A listener that accepts but never answers: no welcome ever comes.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })();
  try {
    const start = performance.now();
    const result = await runLoad(
      options(listener.addr.port, { clients: 3, senders: 0, connectTimeout: 0.5 }),
    );
    assert.ok(performance.now() - start < 5000);
    assert.equal(result.joined, 0);
    assert.equal(result.liveAtEnd, 0);
  } finally {
    listener.close();
    await accepting;
    for (const conn of accepted) conn.close();
  }
});

Deno.test("runLoad refuses more senders than clients", async () => {
  await assert.rejects(() => runLoad(options(1, { clients: 2, senders: 3 })), RangeError);
});

Deno.test("parseLoadArgs reads every option and requires a port", () => {
  const parsed = parseLoadArgs([
    "--port",
    "4000",
    "--clients",
    "1000",
    "--senders",
    "5",
    "--rate",
    "200",
    "--duration",
    "2.5",
    "--read-buffer",
    "16384",
  ]);
  assert.ok(parsed !== null);
  assert.equal(parsed.port, 4000);
  assert.equal(parsed.clients, 1000);
  assert.equal(parsed.rate, 200);
  assert.equal(parsed.duration, 2.5);
  assert.equal(parsed.readBufferBytes, 16384);
  assert.equal(parsed.window, DEFAULT_LOAD_OPTIONS.window);
  assert.equal(parseLoadArgs(["--help"]), null);
  assert.throws(() => parseLoadArgs([]), UsageError);
  assert.throws(() => parseLoadArgs(["--port", "1", "--duration", "0"]), UsageError);
  assert.throws(() => parseLoadArgs(["--port", "1", "--bogus"]), UsageError);
});

Deno.test("runLoad with rooms: each message reaches its room only, and all of it", async () => {
  const server = await startServer(BENCH_CONFIG);
  try {
    for (const rate of [0, 50]) {
      const result = await runLoad(
        options(server.port, { clients: 13, senders: 4, window: 4, rooms: 4, rate }),
      );
      assert.equal(result.joined, 13);
      assert.equal(result.moved, 13);
      assert.equal(result.settled, true);
      assert.ok(result.sentInWindow > 0);
      // Rooms #r0 has clients 0, 4, 8, 12; the others three each.
      assert.ok(result.expected < result.sentInWindow * 3 + 1, "each sender reaches its room only");
      assert.equal(result.delivered, result.expected, `rate ${rate}`);
      assert.equal(result.lossPct, 0);
      assert.equal(result.crossRoom, 0);
      assert.equal(result.misattributed, 0);
      assert.equal(result.stalled, 0);
    }
  } finally {
    await server.close();
  }
});
