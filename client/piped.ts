/**
 * The piped client (stdin or stdout not a terminal): each input line is sent, and what the
 * room says is printed as plain lines `HH:MM name: text`; with `--json`, NDJSON in both
 * directions, so a bot is a few lines of any language. At the end of the input it waits until
 * the server has echoed every message sent (at most 5 s), says `bye` and exits.
 *
 * @module
 */

import type { ClientEvent, ServerEvent } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import { sanitizeLine } from "../protocol/sanitize.ts";
import { interpretInput } from "./commands.ts";
import { ConnectError, type Dialer } from "./connection.ts";
import type { Identity } from "./identity.ts";
import { securityNotice, type TrustSettings } from "./secure_dial.ts";
import { readLines, toJsonLine } from "./lines.ts";
import { Pacer } from "./pacer.ts";
import { makeColors, Renderer } from "./render.ts";
import {
  ChatSession,
  JoinRefusedError,
  NameRefusedError,
  type ServerAddress,
  sessionOptionsOf,
  type SessionStatus,
} from "./session.ts";

/** How long to wait at the end of input for the server to echo what was sent. */
export const ECHO_WAIT_MS = 5000;

/** Where the piped client writes text. */
export interface TextSink {
  /**
   * Queues text.
   *
   * @param text the text, with its line breaks
   */
  write(text: string): void;
  /** Waits until everything queued has been written. */
  drain(): Promise<void>;
}

/** Options of {@linkcode runPiped}. */
export interface PipedOptions {
  /** The server's host (IPv6 without brackets). */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /** Every server of a cluster, tried in turn (`chat join HOST1,HOST2`). */
  readonly servers?: readonly ServerAddress[];
  /** The name to join with. */
  readonly name: string;
  /** NDJSON in and out instead of text. */
  readonly json: boolean;
  /** Reconnect when the connection is lost. */
  readonly reconnect: boolean;
  /** The lines to send. */
  readonly input: ReadableStream<Uint8Array>;
  /** Where the room's messages go. */
  readonly stdout: TextSink;
  /** Where errors and connection news go. */
  readonly stderr: TextSink;
  /** Opens transports (tests); TCP by default. */
  readonly dial?: Dialer;
  /** The wait before reconnect attempt `n` in milliseconds (tests). */
  readonly backoff?: (attempt: number) => number;
  /** TLS and pins; without it, plain TCP through `dial` (tests). */
  readonly trust?: TrustSettings;
  /** The identity proved at `hello`. */
  readonly identity?: Identity;
  /** The server's password, sent in `hello` (from `--password` or `CHAT_PASSWORD`). */
  readonly password?: string;
  /** How long to wait for echoes at the end (default {@linkcode ECHO_WAIT_MS}). */
  readonly echoWaitMs?: number;
}

/** Event types the server's flood control counts, so the client paces them. */
const _PACED: ReadonlySet<string> = new Set(["say", "me", "dm", "nick", "room"]);
/** Event types the server echoes back to the sender. */
const _ECHOED: ReadonlySet<string> = new Set(["say", "me", "dm"]);

const _JSON_HINT = 'send one JSON object per line, such as {"type":"say","text":"hi"}';

/**
 * Runs the piped client until its input ends (or `/quit`, or a `bye` event in JSON mode).
 *
 * @param options the server, the name, the mode and the streams
 * @returns the exit code: 0 after a clean end, 1 if connecting or joining failed, or the
 *   connection was lost with reconnecting off
 */
export async function runPiped(options: PipedOptions): Promise<number> {
  return await new _PipedClient(options).run();
}

class _PipedClient {
  #options: PipedOptions;
  #session: ChatSession;
  #renderer = new Renderer({ colors: makeColors(false), style: "plain" });
  /** Messages sent and not yet echoed (or refused). */
  #unechoed = 0;
  #onProgress: (() => void) | null = null;
  #lost = false;

  constructor(options: PipedOptions) {
    this.#options = options;
    this.#session = new ChatSession(sessionOptionsOf(options), {
      events: (batch) => this.#onEvents(batch),
      status: (status) => this.#onStatus(status),
    });
  }

  async run(): Promise<number> {
    const { stdout, stderr } = this.#options;
    try {
      return await this.#run();
    } finally {
      await stdout.drain();
      await stderr.drain();
    }
  }

  async #run(): Promise<number> {
    const session = this.#session;
    try {
      await session.connect();
      await session.join(this.#options.name);
    } catch (error) {
      await session.quit(0);
      if (
        error instanceof ConnectError || error instanceof NameRefusedError ||
        error instanceof JoinRefusedError
      ) {
        this.#error(
          error instanceof NameRefusedError
            ? `Could not join as ${JSON.stringify(this.#options.name)}: ${error.message}`
            : error.message,
        );
        return 1;
      }
      throw error;
    }
    const ended = session.ended.then((end) => {
      if (end.reason === "lost") this.#lost = true;
      this.#progress();
    });
    const pacer = new Pacer({
      burst: session.limits.rateBurst - 1,
      perSecond: session.limits.ratePerSecond * 0.9,
    });
    const lines = readLines(this.#options.input);
    const over = ended.then(() => null);
    let number = 0;
    for (;;) {
      // Stop at the end of the input, or as soon as the session is over (lost for good).
      const next = await Promise.race([lines.next(), over]);
      if (next === null) break;
      if (next.done) break;
      number++;
      const line = next.value;
      const event = this.#options.json ? this.#parseJson(line, number) : this.#parseText(line);
      if (event === "quit") {
        await lines.return();
        break;
      }
      if (event === null) continue;
      if (_PACED.has(event.type)) await pacer.take();
      // While reconnecting, hold the line until joined again.
      let result = this.#send(event);
      while (result === "offline" && await session.whenJoined()) result = this.#send(event);
      if (result === "offline") break;
      if (result === "sent" && _ECHOED.has(event.type)) this.#unechoed++;
    }
    await this.#waitForEchoes();
    await session.quit();
    await ended;
    return this.#lost ? 1 : 0;
  }

  #parseText(line: string): ClientEvent | "quit" | null {
    const action = interpretInput(line, undefined);
    switch (action.kind) {
      case "send":
        return action.event;
      case "quit":
        return "quit";
      case "error":
        this.#error(action.message);
        return null;
      case "reconnect":
        this.#session.retryNow();
        return null;
      case "help":
      case "none":
        return null;
    }
  }

  #parseJson(line: string, number: number): ClientEvent | "quit" | null {
    if (line.trim() === "") return null;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.#error(`Line ${number} of the input is not JSON: ${_JSON_HINT}`);
      return null;
    }
    if (
      typeof value !== "object" || value === null || Array.isArray(value) ||
      typeof (value as { type?: unknown }).type !== "string"
    ) {
      this.#error(`Line ${number} of the input is not an event with a "type": ${_JSON_HINT}`);
      return null;
    }
    const type = (value as { type: string }).type;
    if (type === "bye") return "quit";
    if (type === "hello") {
      this.#error(`Line ${number}: "hello" is sent by chat join itself, so it was skipped`);
      return null;
    }
    // The server checks the fields and answers with an error event if they are wrong.
    return value as ClientEvent;
  }

  #send(event: ClientEvent): "sent" | "offline" | "refused" {
    try {
      return this.#session.send(event) ? "sent" : "offline";
    } catch (error) {
      this.#error(error instanceof Error ? error.message : String(error));
      return "refused";
    }
  }

  async #waitForEchoes(): Promise<void> {
    const deadline = Date.now() + (this.#options.echoWaitMs ?? ECHO_WAIT_MS);
    while (this.#unechoed > 0 && !this.#lost && Date.now() < deadline) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#onProgress = resolve;
        timer = setTimeout(resolve, deadline - Date.now());
      });
      clearTimeout(timer);
      this.#onProgress = null;
    }
  }

  #progress(): void {
    this.#onProgress?.();
  }

  #onEvents(batch: readonly ServerEvent[]): void {
    const me = nameKey(this.#session.name);
    let out = "";
    for (const event of batch) {
      if (
        (event.type === "message" && event.history !== true && nameKey(event.from) === me) ||
        (event.type === "dm" && nameKey(event.from) === me) ||
        event.type === "error"
      ) {
        if (this.#unechoed > 0) this.#unechoed--;
      }
      if (this.#options.json) {
        out += toJsonLine(event) + "\n";
      } else if (event.type === "error") {
        this.#error(event.message);
      } else if (event.type === "shutdown") {
        this.#error(`The server is shutting down: ${event.message}`);
      } else if (event.type === "welcome") {
        this.#info(this.#renderer.render(event, this.#session.name).lines);
      } else {
        for (const line of this.#renderer.render(event, this.#session.name).lines) {
          out += line + "\n";
        }
      }
    }
    this.#options.stdout.write(out);
    this.#progress();
  }

  #onStatus(status: SessionStatus): void {
    switch (status.type) {
      case "lost":
        this.#error(`Connection lost: ${status.reason}`);
        break;
      case "reconnecting":
        this.#info([`Reconnecting in ${Math.max(1, Math.round(status.delayMs / 1000))} s`]);
        break;
      case "retry_failed":
        this.#error(`Reconnecting failed: ${status.reason}`);
        break;
      case "connecting":
        break;
      case "reconnected":
        this.#info([`Reconnected as ${sanitizeLine(status.name)}`]);
        break;
      case "security": {
        const notice = securityNotice(status.security, this.#options.trust?.known.path ?? "");
        if (notice !== undefined) this.#info([notice.text]);
        break;
      }
    }
  }

  #error(message: string): void {
    this.#options.stderr.write(`${sanitizeLine(message)}\n`);
  }

  #info(lines: readonly string[]): void {
    this.#options.stderr.write(lines.map((line) => line + "\n").join(""));
  }
}
