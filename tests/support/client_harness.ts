/**
 * Helpers shared by the client's tests: a real server on an ephemeral port, a bounded wait,
 * and a recorder of session events.
 *
 * @module
 */

import type { ServerEvent } from "../../protocol/events.ts";
import { DEFAULT_SERVE_CONFIG, type ServeConfig } from "../../server/config.ts";
import { type ChatServer, startServer } from "../../server/mod.ts";
import type { SessionHandlers, SessionStatus } from "../../client/session.ts";
import type { Terminal } from "../../client/terminal.ts";

/**
 * Starts a quiet server on 127.0.0.1 and an ephemeral port.
 *
 * @param overrides settings to change from the defaults
 * @returns the running server; close it with `await server.close()`
 */
export function startTestServer(overrides: Partial<ServeConfig> = {}): Promise<ChatServer> {
  return startServer({
    ...DEFAULT_SERVE_CONFIG,
    host: "127.0.0.1",
    port: 0,
    // A free TLS port even when a test fixes the plain one: port + 1 may be another test's.
    tlsPort: 0,
    quiet: true,
    ratePerSecond: 0,
    ...overrides,
  });
}

/**
 * Polls until `check` returns true, at most `timeoutMs`.
 *
 * @param check the condition
 * @param what what is awaited, for the failure message
 * @param timeoutMs the limit
 * @throws {Error} when the time runs out
 */
export async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Session handlers that keep everything they are given. */
export class Recorder implements SessionHandlers {
  /** Every event, in order. */
  readonly all: ServerEvent[] = [];
  /** Every batch, as given. */
  readonly batches: (readonly ServerEvent[])[] = [];
  /** Every status, in order. */
  readonly statuses: SessionStatus[] = [];

  /** @param batch events to keep */
  events(batch: readonly ServerEvent[]): void {
    this.batches.push(batch);
    this.all.push(...batch);
  }

  /** @param status a status to keep */
  status(status: SessionStatus): void {
    this.statuses.push(status);
  }

  /** The texts of the chat messages received, in order. */
  get texts(): string[] {
    return this.all.flatMap((event) => event.type === "message" ? [event.text] : []);
  }
}

/**
 * A tiny terminal emulator, enough for what the interactive client writes: text, CR, LF,
 * erase line, erase below, cursor up and forward, clear screen, bell, and SGR and mode sequences (ignored). The
 * screen scrolls when a line feed reaches the bottom.
 */
export class VirtualScreen {
  /** The rows, top first. */
  readonly rows: string[][];
  /** The cursor's row. */
  row = 0;
  /** The cursor's column. */
  column = 0;
  /** How many bells rang. */
  bells = 0;
  readonly #columns: number;

  /**
   * @param columns the width
   * @param rows the height
   */
  constructor(columns: number, rows: number) {
    this.#columns = columns;
    this.rows = Array.from({ length: rows }, () => []);
  }

  /** @param text output to interpret */
  write(text: string): void {
    // deno-lint-ignore no-control-regex
    const tokens = text.match(/\x1b\[[0-9;?]*[A-Za-z]|[\s\S]/gu) ?? [];
    for (const token of tokens) this.#apply(token);
  }

  /** The screen as text lines, trailing spaces removed. */
  lines(): string[] {
    return this.rows.map((row) => row.join("").trimEnd());
  }

  /** The text of the cursor's row. */
  get cursorLine(): string {
    return this.rows[this.row]!.join("").trimEnd();
  }

  #apply(token: string): void {
    if (token.startsWith("\x1b[")) {
      const final = token[token.length - 1];
      const param = token.slice(2, -1);
      if (final === "K" && param === "2") this.rows[this.row] = [];
      else if (final === "C") this.column += Number(param || "1");
      else if (final === "A") this.row = Math.max(0, this.row - Number(param || "1"));
      else if (final === "J" && param === "2") this.rows.forEach((_, i) => this.rows[i] = []);
      else if (final === "J" && (param === "" || param === "0")) {
        this.rows[this.row] = this.rows[this.row]!.slice(0, this.column);
        for (let i = this.row + 1; i < this.rows.length; i++) this.rows[i] = [];
      } else if (final === "H") [this.row, this.column] = [0, 0];
      return;
    }
    if (token === "\r") this.column = 0;
    else if (token === "\n") this.#lineFeed();
    else if (token === "\x07") this.bells++;
    else {
      if (this.column >= this.#columns) {
        this.column = 0;
        this.#lineFeed();
      }
      const row = this.rows[this.row]!;
      while (row.length < this.column) row.push(" ");
      row[this.column] = token;
      this.column++;
    }
  }

  #lineFeed(): void {
    if (this.row === this.rows.length - 1) {
      this.rows.shift();
      this.rows.push([]);
    } else {
      this.row++;
    }
  }
}

/** A terminal in memory: type into it, read its screen. */
export class FakeTerminal implements Terminal {
  /** Bytes typed. */
  readonly input: ReadableStream<Uint8Array>;
  /** Every write, as given. */
  readonly writes: string[] = [];
  /** Every raw mode change, in order. */
  readonly rawModes: boolean[] = [];
  /** The picture the writes make. */
  readonly screen: VirtualScreen;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #columns: number;
  #resize: (() => void)[] = [];
  #terminate: (() => void)[] = [];

  /**
   * @param columns the width
   * @param rows the height
   */
  constructor(columns = 80, rows = 24) {
    this.#columns = columns;
    this.screen = new VirtualScreen(columns, rows);
    this.input = new ReadableStream({
      start: (controller) => void (this.#controller = controller),
    });
  }

  /** Everything written, joined. */
  get output(): string {
    return this.writes.join("");
  }

  /** @param text keys to type, as the terminal would send them */
  type(text: string): void {
    this.#controller.enqueue(new TextEncoder().encode(text));
  }

  /** Ends the input, as when the terminal goes away. */
  endInput(): void {
    this.#controller.close();
  }

  /** Asks the client to stop, as SIGTERM would. */
  terminate(): void {
    for (const listener of this.#terminate) listener();
  }

  /** @param columns the new width; resize listeners are told */
  resize(columns: number): void {
    this.#columns = columns;
    for (const listener of this.#resize) listener();
  }

  /** @param text text for the screen */
  write(text: string): void {
    this.writes.push(text);
    this.screen.write(text);
  }

  /** How many times the terminal was restored in a hurry. */
  restoredNow = 0;

  /** @param text text for the screen, written before raw mode is turned off */
  restoreNow(text: string): void {
    this.restoredNow++;
    this.write(text);
    this.setRaw(false);
  }

  /** Nothing to wait for. */
  drain(): Promise<void> {
    return Promise.resolve();
  }

  /** @param raw the mode */
  setRaw(raw: boolean): void {
    this.rawModes.push(raw);
  }

  /** The width. */
  columns(): number {
    return this.#columns;
  }

  /** @param listener called on resize */
  onResize(listener: () => void): () => void {
    this.#resize.push(listener);
    return () => this.#resize.splice(this.#resize.indexOf(listener), 1);
  }

  /** @param listener called on terminate */
  onTerminate(listener: () => void): () => void {
    this.#terminate.push(listener);
    return () => this.#terminate.splice(this.#terminate.indexOf(listener), 1);
  }
}
