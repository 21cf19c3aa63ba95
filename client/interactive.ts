/**
 * The interactive client: a chat on a terminal in raw mode, with an input line at the bottom
 * that incoming messages never clobber. It wires the pure parts together: keys
 * ({@linkcode KeyDecoder}) into the {@linkcode LineEditor}, server events through the
 * {@linkcode Renderer} onto the {@linkcode Screen}, and the {@linkcode ChatSession} underneath.
 *
 * @module
 */

import { nameKey, validateName } from "../protocol/names.ts";
import { sanitizeLine } from "../protocol/sanitize.ts";
import type { ServerEvent } from "../protocol/events.ts";
import { completeInput, HELP_TEXT, interpretInput } from "./commands.ts";
import type { Dialer } from "./connection.ts";
import type { Identity } from "./identity.ts";
import { securityNotice, type TrustSettings } from "./secure_dial.ts";
import { BRACKETED_PASTE_OFF, BRACKETED_PASTE_ON, type Key, KeyDecoder } from "./keys.ts";
import { type EditorAction, LineEditor } from "./line_editor.ts";
import { makeColors, type Rendered, Renderer } from "./render.ts";
import { Roster } from "./roster.ts";
import { Screen } from "./screen.ts";
import { ChatSession, NameRefusedError, sessionOptionsOf, type SessionStatus } from "./session.ts";
import type { Terminal } from "./terminal.ts";

/** How long a lone ESC waits for the rest of a sequence before it counts as the Escape key. */
const _ESCAPE_WAIT_MS = 50;
/** How long incoming events are gathered before they are drawn in one write. */
const _COALESCE_MS = 4;

/** Options of {@linkcode runInteractive}. */
export interface InteractiveOptions {
  /** The server's host (IPv6 without brackets). */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /** The name to join with; without it the user is asked. */
  readonly name?: string;
  /** The name offered when asking (normally `$USER`). */
  readonly defaultName?: string;
  /** Use colours. */
  readonly color: boolean;
  /** Reconnect when the connection is lost. */
  readonly reconnect: boolean;
  /** The terminal to run on. */
  readonly terminal: Terminal;
  /** Opens transports (tests); TCP by default. */
  readonly dial?: Dialer;
  /** The wait before reconnect attempt `n` in milliseconds (tests). */
  readonly backoff?: (attempt: number) => number;
  /** TLS and pins; without it, plain TCP through `dial` (tests). */
  readonly trust?: TrustSettings;
  /** The identity proved at `hello`. */
  readonly identity?: Identity;
}

type _Mode = "name" | "joining" | "chat" | "leaving" | "done";

/**
 * Runs the interactive client until the user leaves or the connection is lost for good. The
 * terminal is put back as it was on every way out.
 *
 * @param options the server, the name, colours, and the terminal
 * @returns the exit code: 0 after leaving, 1 when the connection was lost (with reconnecting
 *   off) or joining failed
 * @throws {ConnectError} when the server cannot be reached at all (before the terminal is
 *   touched)
 */
export async function runInteractive(options: InteractiveOptions): Promise<number> {
  return await new InteractiveClient(options).run();
}

/**
 * The state of one interactive run; see {@linkcode runInteractive}.
 */
export class InteractiveClient {
  #options: InteractiveOptions;
  #term: Terminal;
  #session: ChatSession;
  #renderer: Renderer;
  #screen: Screen;
  #keys = new KeyDecoder();
  #roster = new Roster();
  #chatEditor: LineEditor;
  #nameEditor = new LineEditor({ historyLimit: 0 });
  #mode: _Mode = "name";
  #replyTo: string | undefined;
  #lines: string[] = [];
  #bell = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #escapeTimer: ReturnType<typeof setTimeout> | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #finish!: (code: number) => void;
  #done: Promise<number>;

  /**
   * Prepares a run; nothing happens until {@linkcode InteractiveClient.run}.
   *
   * @param options see {@linkcode InteractiveOptions}
   */
  constructor(options: InteractiveOptions) {
    this.#options = options;
    this.#term = options.terminal;
    this.#renderer = new Renderer({ colors: makeColors(options.color), style: "terminal" });
    this.#screen = new Screen(this.#term.columns());
    this.#chatEditor = new LineEditor({
      complete: (before, word) =>
        completeInput(before, word, this.#roster.names, this.#session.name),
    });
    this.#session = new ChatSession(sessionOptionsOf(options), {
      events: (batch) => this.#onEvents(batch),
      status: (status) => this.#onStatus(status),
    });
    this.#done = new Promise((resolve) => this.#finish = resolve);
  }

  /**
   * Connects, sets up the terminal, asks for a name if needed, and chats until the end.
   *
   * @returns the exit code
   * @throws {ConnectError} when the first connection fails
   */
  async run(): Promise<number> {
    await this.#session.connect();
    const term = this.#term;
    term.setRaw(true);
    term.write(BRACKETED_PASTE_ON);
    const removeResize = term.onResize(() => {
      this.#screen.setColumns(term.columns());
      this.#flush();
    });
    const removeTerminate = term.onTerminate(() => void this.#leave());
    // A bug must not leave the terminal in raw mode: restore it before the process dies.
    const crash = () => {
      if (this.#mode !== "done") term.restoreNow(this.#screen.finish() + BRACKETED_PASTE_OFF);
    };
    globalThis.addEventListener("error", crash);
    globalThis.addEventListener("unhandledrejection", crash);
    this.#session.ended.then((end) => {
      if (end.reason === "lost") this.#end(1);
    });
    const input = this.#readInput();
    try {
      if (this.#options.name !== undefined) {
        this.#join(this.#options.name);
      } else {
        this.#askName();
      }
      this.#flush();
      return await this.#done;
    } finally {
      this.#mode = "done";
      clearTimeout(this.#flushTimer);
      clearTimeout(this.#escapeTimer);
      removeResize();
      removeTerminate();
      globalThis.removeEventListener("error", crash);
      globalThis.removeEventListener("unhandledrejection", crash);
      await this.#session.quit(0);
      term.write(this.#screen.finish(this.#lines) + BRACKETED_PASTE_OFF);
      this.#lines = [];
      await term.drain();
      term.setRaw(false);
      try {
        await this.#reader?.cancel();
      } catch {
        // The input is already closed.
      }
      await input;
    }
  }

  #end(code: number): void {
    this.#flushNow();
    this.#finish(code);
  }

  // --- the name -----------------------------------------------------------------------------

  #askName(message?: string): void {
    this.#mode = "name";
    if (message !== undefined) this.#show(this.#renderer.error(message));
    const offered = this.#options.defaultName;
    const c = this.#renderer.colors;
    this.#screen.setPrompt(
      offered === undefined || offered === ""
        ? `${c.bold("Your name")}: `
        : `${c.bold("Your name")} ${c.dim(`[${sanitizeLine(offered)}]`)}: `,
    );
    this.#scheduleFlush();
  }

  #submitName(text: string): void {
    const name = text.trim() === "" ? this.#options.defaultName ?? "" : text.trim();
    this.#join(name);
  }

  #join(name: string): void {
    const checked = validateName(name);
    if (!checked.ok) {
      this.#askName(checked.error.message);
      return;
    }
    this.#mode = "joining";
    this.#screen.setPrompt(this.#renderer.colors.dim(`Joining as ${checked.name}… `));
    this.#scheduleFlush();
    this.#session.join(checked.name).then(() => {
      if (this.#mode !== "joining") return;
      this.#mode = "chat";
      this.#setChatPrompt(true);
      this.#scheduleFlush();
    }, (error: unknown) => {
      if (this.#mode !== "joining") return;
      if (error instanceof NameRefusedError) {
        this.#askName(error.message);
        return;
      }
      this.#show(this.#renderer.error(error instanceof Error ? error.message : String(error)));
      this.#end(1);
    });
  }

  #setChatPrompt(online: boolean): void {
    const c = this.#renderer.colors;
    const name = this.#renderer.name(this.#session.name);
    // Kept in the prompt, not only said once: a plain-text chat stays marked as such.
    const plain = this.#session.security?.encrypted === false ? `${c.red("(not encrypted)")} ` : "";
    this.#screen.setPrompt(
      online ? `${plain}${name}${c.dim(">")} ` : `${c.dim("(offline)")} ${plain}${name}> `,
    );
  }

  // --- input --------------------------------------------------------------------------------

  get #editor(): LineEditor {
    return this.#mode === "chat" || this.#mode === "leaving" ? this.#chatEditor : this.#nameEditor;
  }

  async #readInput(): Promise<void> {
    const reader = this.#term.input.getReader();
    this.#reader = reader;
    const decoder = new TextDecoder();
    try {
      while (this.#mode !== "done") {
        const { value, done } = await reader.read();
        if (done) break;
        clearTimeout(this.#escapeTimer);
        this.#handleKeys(this.#keys.push(decoder.decode(value, { stream: true })));
        if (this.#keys.pending && !this.#keys.inPaste) {
          this.#escapeTimer = setTimeout(
            () => this.#handleKeys(this.#keys.flush()),
            _ESCAPE_WAIT_MS,
          );
        }
      }
    } catch {
      // The terminal went away: leave as if the input ended.
    } finally {
      try {
        reader.releaseLock();
      } catch {
        // Already released.
      }
    }
    if (this.#mode !== "done") void this.#leave();
  }

  #handleKeys(keys: readonly Key[]): void {
    if (this.#mode === "done") return;
    for (const key of keys) this.#handleAction(this.#editor.handle(key));
    this.#flushNow();
  }

  #handleAction(action: EditorAction): void {
    switch (action.type) {
      case "none":
        return;
      case "bell":
        this.#bell = true;
        return;
      case "redraw":
        this.#term.write("\x1b[2J\x1b[H");
        return;
      case "quit":
        void this.#leave();
        return;
      case "submit":
        if (this.#mode === "name") this.#submitName(action.text);
        else if (this.#mode === "chat") this.#submitChat(action.text);
        return;
    }
  }

  #submitChat(text: string): void {
    const action = interpretInput(text, this.#replyTo);
    switch (action.kind) {
      case "none":
        return;
      case "help":
        this.#show(this.#renderer.notice(HELP_TEXT));
        return;
      case "quit":
        void this.#leave();
        return;
      case "error":
        this.#show(this.#renderer.error(action.message));
        return;
      case "send":
        try {
          if (this.#session.send(action.event)) return;
          this.#show(this.#renderer.error("Not connected, so nothing was sent: try again soon"));
        } catch (error) {
          this.#show(this.#renderer.error(error instanceof Error ? error.message : String(error)));
        }
        if (this.#chatEditor.text === "") this.#chatEditor.setText(text);
        return;
    }
  }

  async #leave(): Promise<void> {
    if (this.#mode === "leaving" || this.#mode === "done") return;
    const wasChatting = this.#mode === "chat";
    this.#mode = "leaving";
    this.#screen.setPrompt("");
    this.#flushNow();
    await this.#session.quit();
    if (wasChatting) this.#show(this.#renderer.notice("You left the chat"));
    this.#end(0);
  }

  // --- output -------------------------------------------------------------------------------

  #onEvents(batch: readonly ServerEvent[]): void {
    const me = this.#session.name;
    for (const event of batch) {
      this.#roster.apply(event);
      if (event.type === "dm" && nameKey(event.from) !== nameKey(me)) this.#replyTo = event.from;
      this.#show(this.#renderer.render(event, me));
      if (event.type === "nick" && this.#mode === "chat") this.#setChatPrompt(true);
    }
  }

  #onStatus(status: SessionStatus): void {
    const r = this.#renderer;
    switch (status.type) {
      case "lost":
        this.#show(r.error(`Connection lost: ${status.reason}`));
        if (this.#mode === "chat") this.#setChatPrompt(false);
        break;
      case "reconnecting":
        this.#show(
          r.notice(`Reconnecting in ${Math.max(1, Math.round(status.delayMs / 1000))} s…`),
        );
        break;
      case "retry_failed":
        this.#show(r.error(`Reconnecting failed: ${status.reason}`));
        break;
      case "reconnected":
        this.#show(r.notice(`Reconnected as ${r.name(status.name)}`));
        if (this.#mode === "chat") this.#setChatPrompt(true);
        break;
      case "security": {
        const notice = securityNotice(status.security, this.#options.trust?.known.path ?? "");
        if (notice !== undefined) {
          this.#show(notice.warning ? r.error(notice.text) : r.notice(notice.text));
        }
        break;
      }
    }
  }

  #show(rendered: Rendered): void {
    for (const line of rendered.lines) this.#lines.push(line);
    if (rendered.bell) this.#bell = true;
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined || this.#mode === "done") return;
    this.#flushTimer = setTimeout(() => this.#flush(), _COALESCE_MS);
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#mode === "done") return;
    this.#flushNow();
  }

  /** Writes pending lines (if any) and the input line, in one write. */
  #flushNow(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const editor = this.#editor;
    const leaving = this.#mode === "leaving" || this.#mode === "done";
    const chars = leaving ? [] : editor.chars;
    const cursor = leaving ? 0 : editor.cursor;
    if (this.#lines.length > 0 || this.#bell) {
      this.#term.write(this.#screen.print(this.#lines, this.#bell, chars, cursor));
      this.#lines = [];
      this.#bell = false;
    } else {
      this.#term.write(this.#screen.inputLine(chars, cursor));
    }
  }
}
