/**
 * The trust steps between a connection's `hello` and its `welcome`: moving a TLS-capable client
 * off the plain port (`use_tls`), the password and the identity challenge (`challenge`, `auth`). A
 * session hands its `hello` and `auth` events to a {@linkcode HelloGate} and is called back to
 * join with the identity proved; the join claims the name, which an owned name refuses to
 * anyone but its identity. The gate holds the state in between.
 *
 * @module
 */

import { ProtocolError } from "../protocol/errors.ts";
import type { AuthEvent, HelloEvent, ServerEvent } from "../protocol/events.ts";
import { validateName } from "../protocol/names.ts";
import {
  type NameOwnership,
  newNonce,
  type OfferedKey,
  readOfferedKey,
  verifyAuth,
} from "./identity.ts";
import type { AllowList } from "./allow_list.ts";
import type { Moderation, ModerationStore } from "./moderation.ts";
import type { PasswordGuard } from "./password_guard.ts";

/** What the server knows of TLS and identities, shared by every session. */
export interface Trust {
  /** The TLS port, when the server listens for TLS. */
  readonly tlsPort: number | undefined;
  /** The certificate's fingerprint, when the server listens for TLS. */
  readonly tlsFingerprint: string | undefined;
  /** Who owns which name (the database's, or the cluster's with `--redis`). */
  readonly owners: NameOwnership;
  /** The password and its guessers, when the server has a password (`--password`). */
  readonly password: PasswordGuard | undefined;
  /** The identities allowed in, when the server has an allowlist (`--allow`). */
  readonly allow: AllowList | undefined;
  /** Operators, bans and mutes. */
  readonly moderation: Moderation;
  /** Where the members of every node of the cluster are; absent for a server on its own. */
  readonly members?: MemberDirectory | undefined;
}

/** A member connected to any node of a cluster, as an operator's command finds it by name. */
export interface ClusterMember {
  /** Its name, as it spelled it. */
  readonly name: string;
  /** `NODE/ID`: the node that holds its connection, and its number there. */
  readonly member: string;
  /** Its identity's fingerprint, if it proved one. */
  readonly fingerprint?: string | undefined;
  /** Its normalised IP address. */
  readonly ip: string;
}

/**
 * Who the members of a cluster are, beyond their names: each node records its own members'
 * identities and addresses, so that an operator on one node can ban, mute or make an operator
 * of a member connected to another.
 */
export interface MemberDirectory {
  /**
   * Records a member of this node that has joined.
   *
   * @param member `NODE/ID`
   * @param fingerprint its identity, if any
   * @param ip its normalised address
   */
  joined(member: string, fingerprint: string | undefined, ip: string): Promise<void>;
  /**
   * Forgets a member of this node that left.
   *
   * @param member `NODE/ID`
   */
  left(member: string): Promise<void>;
  /**
   * Finds the member holding a name, on any node.
   *
   * @param name a name, any case
   * @returns the member, or undefined when nobody holds the name
   */
  lookup(name: string): Promise<ClusterMember | undefined>;
}

/**
 * What the nodes of a cluster share besides the chat itself (the broker's): who owns which
 * name, the operators' decisions, and who their members are. A server on its own keeps the
 * first two in its database and needs no directory.
 */
export interface SharedTrust {
  readonly owners: NameOwnership;
  readonly moderation: ModerationStore;
  readonly members: MemberDirectory;
}

/** What a gate needs from its session. */
export interface GateSession {
  /** True when the connection is over TLS. */
  readonly encrypted: boolean;
  /** True once the session is closing. */
  readonly closed: boolean;
  /** Sends an event now. */
  send(event: ServerEvent): void;
  /** Refuses an event (spends the error budget). */
  refuseEvent(error: ProtocolError): void;
  /** Refuses a name; the client may try another. */
  refuseName(error: ProtocolError): void;
  /** Sends an error and closes the connection. */
  closeWithError(code: ProtocolError["code"], message: string): void;
  /** Joins under a validated name, with the identity proved (if any). */
  join(name: string, fingerprint: string | undefined): void;
  /**
   * Checks the server's password, after the wait its address has earned, then calls `then`
   * (not at all if the session closes meanwhile).
   */
  checkPassword(given: string, then: (ok: boolean) => void): void;
}

/** What a client without the password is told. */
export const PASSWORD_NEEDED =
  "This server needs a password: give it with 'chat join --password' or CHAT_PASSWORD " +
  "(ask the server's operator for it)";

/** What a client with a wrong password is told. */
export const PASSWORD_WRONG =
  "Wrong password: check it with the server's operator; each wrong try from your address " +
  "makes the next answer wait longer";

type _State =
  | { readonly step: "idle" }
  | { readonly step: "checking" }
  | {
    readonly step: "challenged";
    readonly offered: OfferedKey;
    readonly nonce: string;
    readonly sentName: string;
    readonly name: string;
  };

/**
 * Takes a connection from `hello` to joining: `use_tls`, the challenge, then the session's join.
 * While a key or a signature is being checked (asynchronously), further `hello` and `auth`
 * events are refused.
 */
export class HelloGate {
  #trust: Trust;
  #session: GateSession;
  #state: _State = { step: "idle" };

  /**
   * @param trust the server's TLS and identity settings
   * @param session the session being let in
   */
  constructor(trust: Trust, session: GateSession) {
    this.#trust = trust;
    this.#session = session;
  }

  /**
   * Handles `hello` or `auth` before the session has joined.
   *
   * @param event the event
   */
  handle(event: HelloEvent | AuthEvent): void {
    if (event.type === "auth") return void this.#auth(event);
    this.#hello(event);
  }

  #hello(event: HelloEvent): void {
    const session = this.#session;
    if (this.#state.step !== "idle") {
      return session.refuseEvent(
        new ProtocolError(
          "bad_event",
          this.#state.step === "challenged"
            ? 'Answer the challenge with "auth" first'
            : "Your key is being checked: wait for the answer",
        ),
      );
    }
    const tlsPort = this.#trust.tlsPort;
    if (event.tls === true && !session.encrypted && tlsPort !== undefined) {
      // Before anything else: the client moves, and sends nothing more in clear text.
      session.send({
        type: "error",
        code: "use_tls",
        message: `This server speaks TLS on port ${tlsPort}: connect there`,
        tlsPort,
      });
      return session.closeWithError("use_tls", "Closing: reconnect with TLS");
    }
    const result = validateName(event.name);
    if (!result.ok) return session.refuseName(result.error);
    if (this.#trust.password === undefined) return this.#identify(event, result.name);
    if (event.password === undefined) {
      return session.closeWithError("bad_password", PASSWORD_NEEDED);
    }
    this.#state = { step: "checking" };
    session.checkPassword(event.password, (ok) => {
      if (!ok) return session.closeWithError("bad_password", PASSWORD_WRONG);
      this.#state = { step: "idle" };
      this.#identify(event, result.name);
    });
  }

  /** Joins at once without a key, or challenges the key offered. */
  #identify(event: HelloEvent, name: string): void {
    const session = this.#session;
    const result = { name };
    // Whether the name belongs to another identity is the join's question (asked once, where
    // the name is claimed).
    if (event.key === undefined) return session.join(result.name, undefined);
    this.#state = { step: "checking" };
    void this.#challenge(event.key, event.name, result.name);
  }

  async #challenge(key: string, sentName: string, name: string): Promise<void> {
    const offered = await readOfferedKey(key);
    if (this.#session.closed) return;
    if (offered instanceof ProtocolError) {
      this.#state = { step: "idle" };
      return this.#session.refuseEvent(offered);
    }
    const nonce = newNonce();
    this.#state = { step: "challenged", offered, nonce, sentName, name };
    this.#session.send({ type: "challenge", nonce });
  }

  async #auth(event: AuthEvent): Promise<void> {
    const session = this.#session;
    const state = this.#state;
    if (state.step !== "challenged") {
      return session.refuseEvent(
        new ProtocolError(
          "not_joined",
          state.step === "idle"
            ? 'Send "hello" with your name and key before "auth"'
            : "Your key is being checked: wait for the challenge",
        ),
      );
    }
    // One answer per challenge: a second one, or a replay, finds no challenge waiting.
    this.#state = { step: "checking" };
    const good = await verifyAuth(state.offered, state.nonce, state.sentName, event.signature);
    if (session.closed) return;
    if (!good) {
      return session.closeWithError(
        "bad_auth",
        "The signature does not match the challenge and key: closing the connection",
      );
    }
    this.#state = { step: "idle" };
    session.join(state.name, state.offered.fingerprint);
  }
}
