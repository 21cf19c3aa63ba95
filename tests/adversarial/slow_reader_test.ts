/**
 * Adversarial suite, the slow reader (issue 6, condition 5): a member stops reading while the
 * others chat for a minute. Runs `main.ts serve` as a process so its memory can be watched.
 */

import assert from "node:assert/strict";
import { memoryKb, rawConnect, reportFigure, writeAll } from "../support/adversary.ts";
import {
  closeAll,
  delay,
  frame,
  joinJson,
  joinLine,
  parseEvent,
  ServeProcess,
  type WireClient,
} from "../support/net.ts";

const CHAT_MS = 60_000;
const SENDERS = 4;
const INTERVAL_MS = 50;
const PADDING = "x".repeat(2000);

/** One reader's record: per sender, the sequence numbers in arrival order; and the delays. */
interface Reading {
  readonly name: string;
  readonly seqs: Map<string, number[]>;
  readonly delays: number[];
  readonly leaves: string[];
  /** When the first leave arrived (ms since the epoch), or 0. */
  leftAt: number;
}

/** Takes every item a client receives as it arrives, until `done()` says stop. */
async function read(client: WireClient, reading: Reading, done: () => boolean): Promise<void> {
  while (!done()) {
    let item: string;
    try {
      item = await client.next(500);
    } catch {
      if (client.eof) break;
      continue;
    }
    const arrived = Date.now();
    let from: string;
    let text: string;
    if (client.mode === "line") {
      const match = /^(\w+): (.*)$/.exec(item);
      if (item.includes(" left")) {
        reading.leaves.push(item);
        reading.leftAt ||= arrived;
      }
      if (match === null) continue;
      [, from, text] = match as unknown as [string, string, string];
    } else {
      const event = parseEvent(item);
      if (event.type === "leave") {
        reading.leaves.push(`${event.name}:${event.reason}`);
        reading.leftAt ||= arrived;
      }
      if (event.type !== "message") continue;
      from = String(event.from);
      text = String(event.text);
    }
    const [seq, sentAt] = text.split(":", 2).map(Number) as [number, number];
    const list = reading.seqs.get(from) ?? [];
    list.push(seq);
    reading.seqs.set(from, list);
    reading.delays.push(arrived - sentAt);
  }
}

Deno.test("condition 5: a member that stops reading is dropped alone as slow, memory stays bounded, and the others lose nothing", async () => {
  await using server = await ServeProcess.start([
    "--quiet",
    "--rate-burst",
    "100",
    "--rate-per-second",
    "50",
    "--send-queue-bytes",
    "262144",
    "--write-timeout",
    "3",
  ]);
  const rssBefore = await memoryKb(server.pid, "VmRSS");
  // The slow member joins and then never reads again.
  const sloth = await rawConnect(server.port);
  await writeAll(sloth, frame(JSON.stringify({ type: "hello", name: "sloth", protocol: 1 })));
  const clients: WireClient[] = [];
  try {
    for (let i = 0; i < SENDERS; i++) {
      clients.push((await joinJson(server.port, `talker${i}`)).client);
    }
    const liner = await joinLine(server.port, "liner");
    clients.push(liner);
    await liner.waitForLine("/help");

    let stopped = false;
    let readersDone = false;
    const results: Reading[] = clients.map((_, i) => ({
      name: i < SENDERS ? `talker${i}` : "liner",
      seqs: new Map(),
      delays: [],
      leaves: [],
      leftAt: 0,
    }));
    const readers = clients.map((client, i) => read(client, results[i]!, () => readersDone));
    const sent = new Array<number>(SENDERS).fill(0);
    const started = Date.now();
    const talkers = clients.slice(0, SENDERS).map(async (client, i) => {
      while (!stopped) {
        await client.sendJson({ type: "say", text: `${sent[i]}:${Date.now()}:${PADDING}` });
        sent[i]!++;
        await delay(INTERVAL_MS);
      }
    });
    const rss: number[] = [];
    while (Date.now() - started < CHAT_MS) {
      rss.push(await memoryKb(server.pid, "VmRSS"));
      await delay(1000);
    }
    stopped = true;
    await Promise.all(talkers);
    const total = sent.reduce((a, b) => a + b, 0);
    // Wait for the last messages, then stop the readers.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (results.every((r) => r.delays.length >= total)) break;
      await delay(100);
    }
    readersDone = true;
    await Promise.all(readers);
    const peakKb = await memoryKb(server.pid, "VmHWM");

    for (const reading of results) {
      for (let i = 0; i < SENDERS; i++) {
        const seqs = reading.seqs.get(`talker${i}`) ?? [];
        assert.equal(
          seqs.length,
          sent[i],
          `${reading.name} got ${seqs.length} of ${sent[i]} from talker${i}`,
        );
        assert.ok(seqs.every((seq, k) => seq === k), `${reading.name}: talker${i} out of order`);
      }
      // The slow member alone left, as slow.
      const leaves = reading.leaves.map((l) => l.replace(/^\* (\w+) left: (\w+).*/, "$1:$2"));
      assert.deepEqual(leaves, ["sloth:slow"], `${reading.name}: ${reading.leaves}`);
    }
    const delays = results.flatMap((r) => r.delays).sort((a, b) => a - b);
    const p99 = delays[Math.floor(delays.length * 0.99)]!;
    const median = delays[Math.floor(delays.length / 2)]!;
    assert.ok(p99 < 1000, `p99 delay ${p99} ms`);
    const peakRss = Math.max(...rss);
    reportFigure("condition 5 messages sent", `${total} of about ${PADDING.length + 90} bytes`);
    reportFigure("condition 5 slow member dropped after", `${results[0]!.leftAt - started} ms`);
    reportFigure(
      "condition 5 delay",
      `median ${median} ms, p99 ${p99} ms, max ${delays.at(-1)} ms`,
    );
    reportFigure(
      "condition 5 server RSS",
      `before ${rssBefore} kB, peak sampled ${peakRss} kB, VmHWM ${peakKb} kB`,
    );
    reportFigure("condition 5 RSS curve (kB, 1 s apart)", rss.join(" "));
    // Bounded: a server that kept the slow member's backlog would hold 10 MB more per minute.
    assert.ok(peakKb < 200 * 1024, `peak RSS ${peakKb} kB`);
  } finally {
    try {
      sloth.close();
    } catch {
      // The server closed it and it was released already.
    }
    await closeAll(clients);
  }
});
