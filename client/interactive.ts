/**
 * The interactive client: a chat on a terminal in raw mode, with an input line at the bottom
 * that incoming messages never clobber. It wires the pure parts together: keys
 * ({@linkcode KeyDecoder}) into the {@linkcode LineEditor}, server events through the
 * {@linkcode Renderer} onto the {@linkcode Screen}, and the {@linkcode ChatSession} underneath.
 *
 * Typed lines go through a queue paced under the server's advertised rate, so none is refused
 * for flooding; while the connection is down they wait in it. The queue and the connection
 * state share one status row above the input line, updated in place.
 *
 * Replayed history (the recent messages, or everything missed since the user left) is scrolled
 * in a few lines per frame ({@linkcode CatchUp}), so a long catch-up neither floods the terminal
 * in one write nor holds up typing; what arrives meanwhile is shown after it, in order. Esc, or
 * Enter on an empty line, shows the rest at once.
 *
 * @module
 */

import { nameKey, validateName } from "../protocol/names.ts";
import { sanitizeLine } from "../protocol/sanitize.ts";
import type { ClientEvent, ServerEvent } from "../protocol/events.ts";
import { BACKOFF_DRAFT_MAX_MS, BACKOFF_MAX_MS, backoffDelay } from "./backoff.ts";
import { CATCH_UP_FRAME_MS, CatchUp } from "./catch_up.ts";
import { completeInput, helpText, interpretInput } from "./commands.ts";
import type { Dialer } from "./connection.ts";
import type { Identity } from "./identity.ts";
import { securityNotice, type TrustSettings } from "./secure_dial.ts";
import { BRACKETED_PASTE_OFF, BRACKETED_PASTE_ON, type Key, KeyDecoder } from "./keys.ts";
import { type EditorAction, LineEditor } from "./line_editor.ts";
import { Pacer } from "./pacer.ts";
import { makeColors, type Rendered, Renderer } from "./render.ts";
import { formatCount } from "../protocol/text_render.ts";
import { Roster } from "./roster.ts";
import { Screen } from "./screen.ts";
import {
  ChatSession,
  JoinRefusedError,
  NameRefusedError,
  type ServerAddress,
  sessionOptionsOf,
  type SessionStatus,
} from "./session.ts";
import type { Terminal } from "./terminal.ts";
import { wrapLine } from "./wrap.ts";

/** How long a lone ESC waits for the rest of a sequence before it counts as the Escape key. */
const _ESCAPE_WAIT_MS = 50;
/** How long incoming events are gathered before they are drawn in one write. */
const _COALESCE_MS = 4;
/**
 * How long after the last replayed message, with nothing else arriving, history counts as
 * over. The server sends history right after `welcome`, so it normally comes in one read.
 */
const _HISTORY_QUIET_MS = 150;
/** Event types the server's flood control counts, so typed lines of these kinds are paced. */
const _PACED: ReadonlySet<string> = new Set(["say", "me", "dm", "nick"]);
/** How long leaving waits for lines still queued to go out, in milliseconds. */
const _LEAVE_DRAIN_MS = 5000;

/** While the connection is down: why, since when, and what the session is doing about it. */
interface _Offline {
  reason: string;
  /** Why it was first lost, for the line printed when it is back. */
  readonly firstReason: string;
  readonly since: number;
  /** When the next attempt starts (`Date.now()` scale), or null while one is under way. */
  retryAt: number | null;
}

/** Options of {@linkcode runInteractive}. */
export interface InteractiveOptions {
  /** The server's host (IPv6 without brackets). */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /** Every server of a cluster, tried in turn (`chat join HOST1,HOST2`). */
  readonly servers?: readonly ServerAddress[];
  /** The name to join with; without it the user is asked. */
  readonly name?: string;
  /** The name offered when asking (normally `$USER`); not offered if it is not a valid name. */
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
  /** The server's password, sent in `hello` (from `--password` or `CHAT_PASSWORD`). */
  readonly password?: string;
}

type _Mode = "name" | "password" | "joining" | "chat" | "leaving" | "done";

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
  /** The rooms the last `rooms` answer listed, for Tab completion. */
  #rooms: string[] = [];
  #chatEditor: LineEditor;
  #nameEditor = new LineEditor({ historyLimit: 0 });
  /** The password being typed (never kept in a history; drawn as stars). */
  #passwordEditor = new LineEditor({ historyLimit: 0 });
  /** The name to join with once the password is typed. */
  #passwordFor = "";
  #mode: _Mode = "name";
  #replyTo: string | undefined;
  #lines: string[] = [];
  #bell = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #escapeTimer: ReturnType<typeof setTimeout> | undefined;
  /** True after a replayed message, until the `-- end of history --` line is shown. */
  #inHistory = false;
  #historyTimer: ReturnType<typeof setTimeout> | undefined;
  /** Output from the server waiting to be scrolled in behind replayed history. */
  #catchUp = new CatchUp();
  #catchUpTimer: ReturnType<typeof setTimeout> | undefined;
  /** Typed events waiting to be sent: paced under the server's rate, held while offline. */
  #outbox: ClientEvent[] = [];
  #pacer: Pacer | null = null;
  #pumpTimer: ReturnType<typeof setTimeout> | undefined;
  #awaitingJoin = false;
  #onDrained: (() => void) | null = null;
  #offline: _Offline | null = null;
  #tickTimer: ReturnType<typeof setInterval> | undefined;
  /** The server's goodbye, if it sent one before the connection went. */
  #shutdownMessage: string | undefined;
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
        completeInput(
          before,
          word,
          this.#roster.names,
          this.#session.name,
          this.#knownRooms(),
          this.#session.isOp,
        ),
    });
    const backoff = options.backoff ??
      ((attempt: number) =>
        backoffDelay(
          attempt,
          Math.random(),
          this.#hasDraft() ? BACKOFF_DRAFT_MAX_MS : BACKOFF_MAX_MS,
        ));
    this.#session = new ChatSession({ ...sessionOptionsOf(options), backoff }, {
      events: (batch) => this.#onEvents(batch),
      status: (status) => this.#onStatus(status),
    });
    this.#done = new Promise((resolve) => this.#finish = resolve);
  }

  /**
   * The name offered at the prompt: the default only when the server could accept it, so
   * Enter never proposes a name that is refused (`root`, or a login name with a space).
   */
  get #offeredName(): string | undefined {
    const offered = this.#options.defaultName;
    if (offered === undefined) return undefined;
    const checked = validateName(offered);
    return checked.ok ? checked.name : undefined;
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
      clearTimeout(this.#historyTimer);
      clearTimeout(this.#catchUpTimer);
      clearTimeout(this.#pumpTimer);
      clearInterval(this.#tickTimer);
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
    // Leaving mid catch-up: what was not scrolled in yet still goes to the scrollback.
    this.#showCatchUp(this.#catchUp.drain());
    this.#flushNow();
    this.#finish(code);
  }

  // --- the name -----------------------------------------------------------------------------

  #askName(message?: string): void {
    this.#mode = "name";
    if (message !== undefined) this.#show(this.#renderer.error(message));
    const offered = this.#offeredName;
    const c = this.#renderer.colors;
    this.#screen.setPrompt(
      offered === undefined || offered === ""
        ? `${c.bold("Your name")}: `
        : `${c.bold("Your name")} ${c.dim(`[${sanitizeLine(offered)}]`)}: `,
    );
    this.#scheduleFlush();
  }

  #submitName(text: string): void {
    const name = text.trim() === "" ? this.#offeredName ?? "" : text.trim();
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
      if (error instanceof JoinRefusedError && error.code === "bad_password") {
        this.#askPassword(checked.name, error.message);
        return;
      }
      this.#show(this.#renderer.error(error instanceof Error ? error.message : String(error)));
      this.#end(1);
    });
  }

  /**
   * Asks for the server's password, after the server refused the join without one or with a
   * wrong one (its sentence is shown). What is typed is drawn as stars and kept nowhere but in
   * the session, which sends it in `hello`; the server slows down repeated wrong ones.
   */
  #askPassword(name: string, message: string): void {
    this.#mode = "password";
    this.#passwordFor = name;
    this.#show(this.#renderer.error(message));
    this.#screen.setPrompt(`${this.#renderer.colors.bold("Password")}: `);
    this.#scheduleFlush();
  }

  #submitPassword(text: string): void {
    if (text === "") return this.#askPassword(this.#passwordFor, "The password cannot be empty");
    this.#session.setPassword(text);
    this.#join(this.#passwordFor);
  }

  #setChatPrompt(online: boolean): void {
    const c = this.#renderer.colors;
    const room = this.#session.room;
    const name = this.#renderer.name(this.#session.name) +
      (room === undefined ? "" : ` ${c.cyan(sanitizeLine(room))}`);
    // Kept in the prompt, not only said once: a plain-text chat stays marked as such.
    const plain = this.#session.security?.encrypted === false ? `${c.red("(not encrypted)")} ` : "";
    this.#screen.setPrompt(
      online ? `${plain}${name}${c.dim(">")} ` : `${c.dim("(offline)")} ${plain}${name}> `,
    );
  }

  /** The rooms Tab offers: those the last `/rooms` listed, and the user's own. */
  #knownRooms(): string[] {
    const room = this.#session.room;
    return room === undefined ? [...this.#rooms] : [room, ...this.#rooms];
  }

  // --- input --------------------------------------------------------------------------------

  get #editor(): LineEditor {
    if (this.#mode === "password") return this.#passwordEditor;
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
    for (const key of keys) {
      if (key.type === "key" && key.name === "escape" && this.#catchUp.active) {
        this.#skipCatchUp();
        continue;
      }
      this.#handleAction(this.#editor.handle(key));
    }
    // Something typed while offline: the next attempt should not be far away.
    if (this.#offline !== null && this.#hasDraft()) {
      this.#retrySoon(BACKOFF_DRAFT_MAX_MS);
    }
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
        else if (this.#mode === "password") this.#submitPassword(action.text);
        else if (this.#mode === "chat") this.#submitChat(action.text);
        return;
    }
  }

  #submitChat(text: string): void {
    const action = interpretInput(text, this.#replyTo);
    switch (action.kind) {
      case "none":
        // Enter on an empty line: show the rest of a catch-up; while offline, try again now.
        if (this.#catchUp.active) this.#skipCatchUp();
        if (this.#offline !== null) this.#retrySoon(0);
        return;
      case "reconnect":
        if (this.#offline !== null) this.#retrySoon(0);
        else this.#show(this.#renderer.notice("Connected already: nothing to reconnect"));
        return;
      case "help":
        this.#show(this.#renderer.notice(helpText(this.#session.isOp)));
        return;
      case "quit":
        void this.#leave();
        return;
      case "error":
        this.#show(this.#renderer.error(action.message));
        return;
      case "send":
        try {
          this.#session.checkSize(action.event);
        } catch (error) {
          this.#show(this.#renderer.error(error instanceof Error ? error.message : String(error)));
          if (this.#chatEditor.text === "") this.#chatEditor.setText(text);
          return;
        }
        // Queued, never refused: sent at once when the server's rate allows, else paced, and
        // held while offline (Enter then also retries at once).
        this.#outbox.push(action.event);
        this.#pump();
        if (this.#offline !== null) this.#retrySoon(0);
        return;
    }
  }

  /** True while something typed waits: a draft on the input line, or queued lines. */
  #hasDraft(): boolean {
    return this.#outbox.length > 0 || this.#chatEditor.text.trim() !== "";
  }

  #retrySoon(withinMs: number): void {
    const left = this.#session.retryNow(withinMs);
    if (left !== null && this.#offline !== null) {
      this.#offline.retryAt = left === 0 ? null : Date.now() + left;
      this.#updateStatus();
    }
  }

  /** A fresh budget in step with the server's flood control, which is per connection. */
  #resetPacer(): void {
    const limits = this.#session.limits;
    this.#pacer = new Pacer({
      burst: limits.rateBurst - 1,
      perSecond: limits.ratePerSecond * 0.9,
    });
  }

  /**
   * Sends queued events while the pace allows, then sets a timer for the next one (or waits
   * to be joined again). Synchronous when nothing has to wait, so a line typed at a normal
   * pace goes out at once and the status row never flickers.
   */
  #pump(): void {
    clearTimeout(this.#pumpTimer);
    this.#pumpTimer = undefined;
    while (this.#outbox.length > 0 && this.#mode !== "done") {
      if (!this.#session.joined) {
        this.#awaitJoin();
        break;
      }
      const event = this.#outbox[0]!;
      const pacer = this.#pacer;
      if (_PACED.has(event.type) && pacer !== null && !pacer.tryTake()) {
        this.#pumpTimer = setTimeout(() => this.#pump(), Math.max(1, pacer.delayMs()));
        break;
      }
      let sent: boolean;
      try {
        sent = this.#session.send(event);
      } catch (error) {
        // The limit shrank after a reconnect: the line can never go.
        this.#show(this.#renderer.error(error instanceof Error ? error.message : String(error)));
        sent = true;
      }
      if (!sent) {
        this.#awaitJoin();
        break;
      }
      this.#outbox.shift();
    }
    if (this.#outbox.length === 0) this.#onDrained?.();
    this.#updateStatus();
  }

  #awaitJoin(): void {
    if (this.#awaitingJoin) return;
    this.#awaitingJoin = true;
    void this.#session.whenJoined().then((joined) => {
      this.#awaitingJoin = false;
      if (joined) this.#pump();
    });
  }

  /** Waits (at most `ms`) until the queue is empty. */
  async #drainOutbox(ms: number): Promise<void> {
    if (this.#outbox.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#onDrained = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.#onDrained = null;
  }

  /** The status row: the connection while it is down, and the lines waiting to be sent. */
  #updateStatus(): void {
    const c = this.#renderer.colors;
    const parts: string[] = [];
    const offline = this.#offline;
    // Short, and the queue first: the row is cut at the window's width.
    const waiting = this.#outbox.length;
    const toCatchUp = this.#catchUp.paced ? this.#catchUp.messages : 0;
    if (toCatchUp > 0) {
      parts.push(`catching up, ${formatCount(toCatchUp)} to go; Esc shows them all`);
    }
    if (waiting > 0) {
      const lines = waiting === 1 ? "1 line waiting" : `${waiting} lines waiting`;
      parts.push(
        offline === null
          ? `${lines}, sent at ${this.#session.limits.ratePerSecond} a second`
          : `${lines} to be sent`,
      );
    }
    if (offline !== null) {
      const next = offline.retryAt === null
        ? "reconnecting…"
        : `retrying in ${Math.max(1, Math.ceil((offline.retryAt - Date.now()) / 1000))} s`;
      parts.push(
        `${c.yellow("offline")} (${sanitizeLine(offline.reason)}), ${next}; Enter retries now`,
      );
    }
    const status = parts.length === 0 ? "" : `${c.dim("--")} ${parts.join(c.dim(" · "))}`;
    if (status !== this.#screen.status) {
      this.#screen.setStatus(status);
      this.#scheduleFlush();
    }
  }

  async #leave(): Promise<void> {
    if (this.#mode === "leaving" || this.#mode === "done") return;
    const wasChatting = this.#mode === "chat";
    this.#mode = "leaving";
    this.#screen.setPrompt("");
    // What was not scrolled in yet goes to the scrollback before the goodbye lines.
    this.#skipCatchUp();
    this.#flushNow();
    // Lines typed before leaving still go out, at the server's pace, if the server is there.
    if (this.#offline === null) await this.#drainOutbox(_LEAVE_DRAIN_MS);
    const unsent = this.#outbox.length;
    this.#outbox = [];
    this.#offline = null;
    this.#updateStatus();
    if (unsent > 0) {
      this.#show(
        this.#renderer.error(
          `${unsent === 1 ? "1 line was" : `${unsent} lines were`} not sent: not connected`,
        ),
      );
    }
    await this.#session.quit();
    if (wasChatting) this.#show(this.#renderer.notice("You left the chat"));
    this.#end(0);
  }

  // --- output -------------------------------------------------------------------------------

  #onEvents(batch: readonly ServerEvent[]): void {
    const me = this.#session.name;
    for (const event of batch) {
      if (event.type === "message" && event.history === true) {
        this.#inHistory = true;
      } else if (event.type !== "ping" && event.type !== "pong") {
        this.#endHistory();
      }
      this.#roster.apply(event);
      if (event.type === "welcome") this.#resetPacer();
      if (event.type === "dm" && nameKey(event.from) !== nameKey(me)) this.#replyTo = event.from;
      if (event.type === "shutdown" && this.#options.reconnect) {
        // Reconnecting: the goodbye goes into the one status row, not onto the screen.
        this.#shutdownMessage = event.message;
        continue;
      }
      if (event.type === "rooms") this.#rooms = event.rooms.map((room) => room.name);
      this.#showIncoming(
        this.#renderer.render(event, me),
        event.type === "message" && event.history === true,
      );
      if ((event.type === "nick" || event.type === "moved") && this.#mode === "chat") {
        this.#setChatPrompt(true);
      }
    }
    clearTimeout(this.#historyTimer);
    if (this.#inHistory) {
      this.#historyTimer = setTimeout(() => this.#endHistory(), _HISTORY_QUIET_MS);
    }
  }

  /** Marks the end of replayed history, if some was shown and not yet marked. */
  #endHistory(): void {
    clearTimeout(this.#historyTimer);
    this.#historyTimer = undefined;
    if (!this.#inHistory) return;
    this.#inHistory = false;
    this.#showIncoming(this.#renderer.historyEnd(), false);
  }

  /**
   * Shows what the server sent: replayed history, and anything behind it while it is being
   * scrolled in, goes through the catch-up; the rest at once.
   */
  #showIncoming(rendered: Rendered, replayed: boolean): void {
    if (!replayed && !this.#catchUp.active) return this.#show(rendered);
    this.#catchUp.push(rendered, replayed);
    // The first frame at the next flush (a short replay shows in it whole), then one a frame.
    this.#catchUpTimer ??= setTimeout(() => this.#catchUpFrame(), 0);
  }

  /** Scrolls in one frame of the catch-up, and sets the timer for the next while any is left. */
  #catchUpFrame(): void {
    this.#catchUpTimer = undefined;
    if (this.#mode === "done") return;
    this.#showCatchUp(this.#catchUp.take());
    if (this.#catchUp.active) {
      this.#catchUpTimer = setTimeout(() => this.#catchUpFrame(), CATCH_UP_FRAME_MS);
    }
    this.#updateStatus();
  }

  /** Shows the rest of the catch-up at once (Esc, or Enter on an empty line). */
  #skipCatchUp(): void {
    clearTimeout(this.#catchUpTimer);
    this.#catchUpTimer = undefined;
    this.#showCatchUp(this.#catchUp.drain());
    this.#updateStatus();
  }

  #showCatchUp(output: readonly Rendered[]): void {
    for (const rendered of output) this.#show(rendered);
  }

  #onStatus(status: SessionStatus): void {
    const r = this.#renderer;
    switch (status.type) {
      case "lost": {
        if (!this.#options.reconnect) {
          // The client is about to exit: say why, on the screen, for good.
          this.#show(r.error(`Connection lost: ${status.reason}`));
          break;
        }
        const shutdown = this.#shutdownMessage;
        this.#shutdownMessage = undefined;
        const reason = shutdown === undefined
          ? status.reason
          : `the server shut down: ${sanitizeLine(shutdown)}`;
        this.#offline = { reason, firstReason: reason, since: Date.now(), retryAt: null };
        if (this.#mode === "chat") this.#setChatPrompt(false);
        // A countdown in the status row, updated in place.
        clearInterval(this.#tickTimer);
        this.#tickTimer = setInterval(() => this.#updateStatus(), 1000);
        break;
      }
      case "reconnecting":
        if (this.#offline !== null) this.#offline.retryAt = Date.now() + status.delayMs;
        break;
      case "connecting":
        if (this.#offline !== null) this.#offline.retryAt = null;
        break;
      case "retry_failed":
        if (this.#offline !== null) this.#offline.reason = status.reason;
        break;
      case "reconnected": {
        clearInterval(this.#tickTimer);
        this.#tickTimer = undefined;
        const offline = this.#offline;
        this.#offline = null;
        const seconds = offline === null
          ? 0
          : Math.max(1, Math.round((Date.now() - offline.since) / 1000));
        const why = offline === null ? "" : ` (${sanitizeLine(offline.firstReason)})`;
        // Behind any catch-up still scrolling in, so the screen keeps the order of events.
        this.#showIncoming(
          r.notice(`Reconnected as ${r.name(status.name)} after ${seconds} s offline${why}`),
          false,
        );
        if (this.#mode === "chat") this.#setChatPrompt(true);
        this.#pump();
        break;
      }
      case "security": {
        const notice = securityNotice(status.security, this.#options.trust?.known.path ?? "");
        if (notice !== undefined) {
          this.#show(notice.warning ? r.error(notice.text) : r.notice(notice.text));
        }
        break;
      }
    }
    this.#updateStatus();
  }

  #show(rendered: Rendered): void {
    // Wrapped here, at the width of the moment: lines already printed are not wrapped again.
    const columns = this.#screen.columns;
    for (const line of rendered.lines) {
      this.#lines.push(...wrapLine(line, columns, rendered.indent));
    }
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
    // A password is drawn as stars, one per character typed.
    const chars = leaving
      ? []
      : this.#mode === "password"
      ? editor.chars.map(() => "*")
      : editor.chars;
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
