/**
 * The server password (`--password`) and the brake on guessing it. Each address that has sent
 * a wrong password is an offender: its next attempts are answered only at spaced slots, the
 * space doubling with each failure (from {@linkcode PASSWORD_DELAY_MIN_MS} up to
 * {@linkcode PASSWORD_DELAY_MAX_MS}), whether the guess is right or wrong, so the time of an
 * answer tells nothing and one address gets a few guesses a minute. Waiting is a timer of the
 * waiting connection, never a pause of the server: other clients see no delay.
 *
 * The offender table is bounded ({@linkcode MAX_OFFENDERS}, the least recently seen forgotten
 * first) and an offender quiet for {@linkcode OFFENDER_MEMORY_MS} is forgotten.
 *
 * @module
 */

/** The wait after an address's first wrong password. */
export const PASSWORD_DELAY_MIN_MS = 500;
/** The longest wait between two answers to one address. */
export const PASSWORD_DELAY_MAX_MS = 30_000;
/** The most addresses remembered as offenders. */
export const MAX_OFFENDERS = 10_000;
/** How long an offender is remembered after its last wrong password. */
export const OFFENDER_MEMORY_MS = 15 * 60 * 1000;

/** Options of a {@linkcode PasswordGuard}. */
export interface PasswordGuardOptions {
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly maxOffenders?: number;
  readonly memoryMs?: number;
  /** The clock in milliseconds; a test may fix it. */
  readonly now?: () => number;
}

interface _Offender {
  failures: number;
  /** The earliest time the next attempt may be answered. */
  next: number;
  lastFailure: number;
}

const encoder = new TextEncoder();

/**
 * Compares two strings in time that depends only on their lengths, never on where they differ.
 *
 * @param given what the client sent
 * @param expected the password
 * @returns true when equal
 */
export function samePassword(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i % Math.max(1, a.length)] ?? 0) ^ b[i]!;
  return difference === 0;
}

/**
 * The password and its offenders.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PasswordGuard } from "./password_guard.ts";
 * let now = 0;
 * const guard = new PasswordGuard("sesame", { now: () => now });
 * assert.ok(guard.reserve("10.0.0.1") === 0);
 * assert.ok(!guard.check("10.0.0.1", "guess"));
 * assert.ok(guard.reserve("10.0.0.1") === 500);
 * assert.ok(guard.reserve("10.0.0.2") === 0);
 * ```
 */
export class PasswordGuard {
  readonly #password: string;
  readonly #min: number;
  readonly #max: number;
  readonly #capacity: number;
  readonly #memory: number;
  readonly #now: () => number;
  readonly #offenders = new Map<string, _Offender>();

  /**
   * @param password the server's password
   * @param options the delays, the table's bound and the clock
   */
  constructor(password: string, options: PasswordGuardOptions = {}) {
    this.#password = password;
    this.#min = options.minDelayMs ?? PASSWORD_DELAY_MIN_MS;
    this.#max = options.maxDelayMs ?? PASSWORD_DELAY_MAX_MS;
    this.#capacity = options.maxOffenders ?? MAX_OFFENDERS;
    this.#memory = options.memoryMs ?? OFFENDER_MEMORY_MS;
    this.#now = options.now ?? Date.now;
  }

  /** How many addresses are remembered as offenders. */
  get offenders(): number {
    return this.#offenders.size;
  }

  /**
   * Takes the next answer slot of an address: how long its attempt must wait before it is
   * checked (0 for an address with no wrong password remembered).
   *
   * @param ip the normalised address
   * @returns milliseconds to wait
   */
  reserve(ip: string): number {
    const offender = this.#find(ip);
    if (offender === undefined) return 0;
    const now = this.#now();
    const slot = Math.max(now, offender.next);
    offender.next = slot + this.#delay(offender.failures);
    return slot - now;
  }

  /**
   * Compares text with the password without recording anything. Only for a client that has
   * already proved it knows the password (to refuse it as a name), never as a check.
   *
   * @param text the text
   * @returns true when it is the password
   */
  matches(text: string): boolean {
    return samePassword(text, this.#password);
  }

  /**
   * Checks a password and remembers a wrong one against its address.
   *
   * @param ip the normalised address
   * @param given the password sent
   * @returns true when it is the password
   */
  check(ip: string, given: string): boolean {
    const good = samePassword(given, this.#password);
    const now = this.#now();
    if (good) {
      this.#offenders.delete(ip);
      return true;
    }
    let offender = this.#find(ip);
    if (offender === undefined) {
      offender = { failures: 0, next: now, lastFailure: now };
      while (this.#offenders.size >= this.#capacity) {
        const oldest = this.#offenders.keys().next().value;
        if (oldest === undefined) break;
        this.#offenders.delete(oldest);
      }
    }
    offender.failures++;
    offender.lastFailure = now;
    offender.next = Math.max(offender.next, now + this.#delay(offender.failures));
    // Most recently seen last: the first key is the one to forget when the table is full.
    this.#offenders.delete(ip);
    this.#offenders.set(ip, offender);
    return false;
  }

  #delay(failures: number): number {
    return Math.min(this.#max, this.#min * 2 ** Math.min(30, Math.max(0, failures - 1)));
  }

  #find(ip: string): _Offender | undefined {
    const offender = this.#offenders.get(ip);
    if (offender === undefined) return undefined;
    if (this.#now() - offender.lastFailure > this.#memory && this.#now() >= offender.next) {
      this.#offenders.delete(ip);
      return undefined;
    }
    return offender;
  }
}
