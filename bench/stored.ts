/**
 * Start-up time and memory of `chat serve` over a data dir holding many stored messages:
 * `deno run -A bench/stored.ts [MESSAGES]` (default 1,000,000, in 10 rooms) fills a temporary data
 * dir, then starts the server on it and on an empty one, and prints for each the time from spawn
 * to the banner and the RSS after start and after one member joined `#main`.
 *
 * @module
 */

import { Database } from "../store/database.ts";

const _ROOMS = 10;

/**
 * Fills a data dir with messages spread over rooms, a transaction per room.
 *
 * @param dir the data dir
 * @param total how many messages in all
 */
export function fillDataDir(dir: string, total: number): void {
  const db = Database.open(dir);
  try {
    const insert = db.sql.prepare(
      "INSERT INTO messages (room, id, ts, sender, kind, text) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const room = db.sql.prepare("INSERT INTO rooms (name, epoch, last_id) VALUES (?, ?, ?)");
    const per = Math.ceil(total / _ROOMS);
    const now = Date.now();
    for (let r = 0; r < _ROOMS; r++) {
      const name = r === 0 ? "#main" : `#room${r}`;
      db.transaction(() => {
        for (let i = 1; i <= per; i++) {
          const ts = new Date(now - (per - i) * 1000).toISOString();
          insert.run(name, i, ts, `user${i % 50}`, "say", `message ${i} in ${name}: some chat`);
        }
        room.run(name, "bench", per);
      });
    }
  } finally {
    db.close();
  }
}

/** What one start measured. */
export interface StartFigures {
  /** Milliseconds from spawn to the banner. */
  readonly startMs: number;
  /** RSS half a second after the banner, in MB. */
  readonly rssStartMb: number;
  /** RSS a second after one member joined `#main`, in MB. */
  readonly rssJoinedMb: number;
}

/**
 * Starts `chat serve` on a data dir (retention off, so nothing is removed meanwhile), joins one
 * member and measures.
 *
 * @param data the data dir
 * @returns the figures
 */
export async function measureStart(data: string): Promise<StartFigures> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--max-semi-space-size=8",
      new URL("../main.ts", import.meta.url).pathname,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--no-tls",
      "--data",
      data,
      "--keep-days",
      "0",
      "--keep-messages",
      "0",
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  // The banner is the first output: bounded by the process ending.
  while (!/listening on port (\d+)/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`chat serve ended before its banner: ${out}`);
    out += value;
  }
  const startMs = Math.round(performance.now() - started);
  const port = Number(/listening on port (\d+)/.exec(out)![1]);
  const rss = () =>
    Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`))![1]) / 1024;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssStartMb = rss();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const body = new TextEncoder().encode(JSON.stringify({ type: "hello", name: "b", protocol: 1 }));
  const frame = new Uint8Array(64 + body.length);
  frame.set(new TextEncoder().encode(String(body.length).padEnd(64, " ")));
  frame.set(body, 64);
  await conn.write(frame);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const rssJoinedMb = rss();
  conn.close();
  child.kill("SIGTERM");
  await child.status;
  await reader.cancel().catch(() => {});
  const round = (mb: number) => Math.round(mb * 10) / 10;
  return { startMs, rssStartMb: round(rssStartMb), rssJoinedMb: round(rssJoinedMb) };
}

if (import.meta.main) {
  const total = Number(Deno.args[0] ?? 1_000_000);
  const full = await Deno.makeTempDir({ prefix: "chat-stored-" });
  const empty = await Deno.makeTempDir({ prefix: "chat-empty-" });
  try {
    fillDataDir(full, total);
    const print = (line: unknown) =>
      Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(line) + "\n"));
    print({ messages: total, ...(await measureStart(full)) });
    print({ messages: 0, ...(await measureStart(empty)) });
  } finally {
    await Deno.remove(full, { recursive: true });
    await Deno.remove(empty, { recursive: true });
  }
}
