/**
 * Who is online, as far as the client can tell from `welcome`, `join`, `leave`, `presence`,
 * `nick` and `who`: the names Tab completes.
 *
 * @module
 */

import type { ServerEvent } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import { sanitizeLine } from "../protocol/sanitize.ts";

/**
 * The names online, kept up to date from server events. Names are sanitised, as they end up
 * on the terminal when completed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Roster } from "./roster.ts";
 * const roster = new Roster();
 * const ts = "2024-05-01T09:05:00Z";
 * roster.apply({ type: "who", users: ["alice", "bob"] });
 * roster.apply({ type: "nick", from: "Bob", to: "rob", ts });
 * assert.ok(roster.names.join() === "alice,rob");
 * ```
 */
export class Roster {
  #names = new Map<string, string>();

  #add(name: string): void {
    this.#names.set(nameKey(name), sanitizeLine(name));
  }

  /** The names online (sanitised for display), in the order they became known. */
  get names(): string[] {
    return [...this.#names.values()];
  }

  /**
   * Updates the list from one event; other events change nothing.
   *
   * @param event a server event
   */
  apply(event: ServerEvent): void {
    switch (event.type) {
      case "welcome":
      case "who":
      case "moved":
        this.#names.clear();
        for (const name of event.users) this.#add(name);
        break;
      case "join":
        this.#add(event.name);
        break;
      case "leave":
        this.#names.delete(nameKey(event.name));
        break;
      case "presence":
        for (const left of event.left) this.#names.delete(nameKey(left.name));
        for (const name of event.joined) this.#add(name);
        break;
      case "nick":
        this.#names.delete(nameKey(event.from));
        this.#add(event.to);
        break;
      default:
        break;
    }
  }
}
