/**
 * `--allow FILE`: the identities allowed to join, one fingerprint per line (`#` starts a
 * comment, blank lines are skipped). Read at start, and again on SIGHUP and whenever the file
 * changes; a file that cannot be read or holds a line that is not a fingerprint keeps the list
 * as it was, and says so in the log, so a typo never opens (or shuts) the server by accident.
 *
 * @module
 */

import { isFingerprint } from "./moderation.ts";

/**
 * Reads the text of an allow file.
 *
 * @param text the file's content
 * @returns the fingerprints, or an error naming the first bad line
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAllowList } from "./allow_list.ts";
 * const fp = "SHA256:" + "A".repeat(43);
 * const list = parseAllowList(`# friends\n${fp}  alice\n\n`);
 * assert.ok(list instanceof Set && list.has(fp));
 * ```
 */
export function parseAllowList(text: string): Set<string> | Error {
  const fingerprints = new Set<string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*/, "").trim();
    if (line === "") continue;
    // A name or note may follow the fingerprint on its line.
    const word = line.split(/\s+/)[0]!;
    if (!isFingerprint(word)) {
      return new Error(
        `Line ${i + 1} is not a fingerprint (SHA256: and 43 base64 characters): ` +
          JSON.stringify(word.slice(0, 60)),
      );
    }
    fingerprints.add(word);
  }
  return fingerprints;
}

/** The `--allow` file cannot be used at start; the message names it and what is wrong. */
export class AllowListError extends Error {
  /**
   * @param message a sentence a person can act on
   */
  constructor(message: string) {
    super(message);
    this.name = "AllowListError";
  }
}

/** What an {@linkcode AllowList} reports when it (re)reads its file. */
export interface AllowListEvents {
  /** The list was read; `count` fingerprints. */
  loaded(count: number): void;
  /** The file could not be read or parsed; the previous list stays. */
  failed(message: string): void;
}

/** The allowlist of a server, kept fresh from its file. */
export class AllowList {
  /** The file. */
  readonly path: string;
  #fingerprints: ReadonlySet<string> = new Set();
  #events: AllowListEvents;
  #watcher: Deno.FsWatcher | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;

  private constructor(path: string, events: AllowListEvents) {
    this.path = path;
    this.#events = events;
  }

  /**
   * Reads the file for the first time.
   *
   * @param path the file
   * @param events where reloads are reported
   * @returns the list
   * @throws {AllowListError} when the file cannot be read or holds a bad line: the server must
   *   not start
   */
  static async load(path: string, events: AllowListEvents): Promise<AllowList> {
    const list = new AllowList(path, events);
    const result = await list.#read();
    if (result instanceof Error) {
      throw new AllowListError(
        `Cannot use the --allow file ${path}: ${result.message}; fix it or leave out --allow`,
      );
    }
    list.#fingerprints = result;
    events.loaded(result.size);
    return list;
  }

  /**
   * Tells whether an identity may join.
   *
   * @param fingerprint the identity, or undefined for a client without one
   */
  allows(fingerprint: string | undefined): boolean {
    return fingerprint !== undefined && this.#fingerprints.has(fingerprint);
  }

  /** How many fingerprints the list holds. */
  get size(): number {
    return this.#fingerprints.size;
  }

  /**
   * Reads the file again; on failure the list stays as it was.
   *
   * @returns true when the new list is in force
   */
  async reload(): Promise<boolean> {
    const result = await this.#read();
    if (result instanceof Error) {
      this.#events.failed(result.message);
      return false;
    }
    this.#fingerprints = result;
    this.#events.loaded(result.size);
    return true;
  }

  /**
   * Rereads the file whenever it changes, until {@linkcode close}. The directory is watched, so
   * an editor that replaces the file (write a copy, rename it over) is seen too.
   *
   * @param onReload called after each reread that took effect
   */
  watch(onReload: () => void): void {
    const slash = this.path.lastIndexOf("/");
    const dir = slash <= 0 ? (slash === 0 ? "/" : ".") : this.path.slice(0, slash);
    const base = this.path.slice(slash + 1);
    try {
      this.#watcher = Deno.watchFs(dir, { recursive: false });
    } catch (error) {
      this.#events.failed(`cannot watch ${dir}: ${error instanceof Error ? error.message : error}`);
      return;
    }
    const watcher = this.#watcher;
    void (async () => {
      try {
        for await (const event of watcher) {
          if (!event.paths.some((path) => path.endsWith(`/${base}`) || path === base)) continue;
          // One save is several events; read once they stop.
          clearTimeout(this.#debounce);
          this.#debounce = setTimeout(() => {
            void this.reload().then((ok) => ok && onReload());
          }, 50);
        }
      } catch {
        // Closed.
      }
    })();
  }

  /** Stops watching; safe to call twice. */
  close(): void {
    clearTimeout(this.#debounce);
    try {
      this.#watcher?.close();
    } catch {
      // Already closed.
    }
    this.#watcher = undefined;
  }

  async #read(): Promise<Set<string> | Error> {
    try {
      return parseAllowList(await Deno.readTextFile(this.path));
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }
}
