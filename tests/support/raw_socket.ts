/**
 * A TCP client that keeps every byte it reads, for raw and telnet clients whose replies are not
 * frames or UTF-8 lines (`NAME~TEXT` writes, telnet answers). Every wait is bounded.
 *
 * @module
 */

import { waitUntil } from "./net.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A raw TCP connection to 127.0.0.1 with its input gathered. */
export class RawSocket {
  readonly #conn: Deno.TcpConn;
  #bytes = new Uint8Array(0);
  #closed = false;
  readonly #reader: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#reader = this.#read();
  }

  /**
   * Connects to a port on 127.0.0.1.
   *
   * @param port the server's port
   * @returns the connected socket
   */
  static async connect(port: number): Promise<RawSocket> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RawSocket(conn);
  }

  /** Everything read so far. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Everything read so far, as UTF-8 (invalid bytes replaced). */
  get text(): string {
    return decoder.decode(this.#bytes);
  }

  /** True once the server has closed the connection (or it failed). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes all of `data`; a connection the server closed ends the write quietly.
   *
   * @returns false when the connection was closed
   */
  async write(data: string | Uint8Array): Promise<boolean> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
      return true;
    } catch {
      return false;
    }
  }

  /** Waits until the text read so far matches, for at most `timeoutMs`. */
  async waitForText(match: string | RegExp, timeoutMs = 10_000): Promise<void> {
    const found = () =>
      typeof match === "string" ? this.text.includes(match) : match.test(this.text);
    try {
      await waitUntil(found, `the text to match ${String(match)}`, timeoutMs, 5);
    } catch (error) {
      throw new Error(`${(error as Error).message}; read so far: ${JSON.stringify(this.text)}`);
    }
  }

  /** Waits until the bytes read so far satisfy `check`, for at most `timeoutMs`. */
  async waitForBytes(check: (bytes: Uint8Array) => boolean, what: string, timeoutMs = 10_000) {
    await waitUntil(() => check(this.#bytes), what, timeoutMs, 5);
  }

  /** Waits until the server closes the connection, for at most `timeoutMs`. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    try {
      await waitUntil(() => this.#closed, "the server to close the connection", timeoutMs, 5);
    } catch (error) {
      throw new Error(`${(error as Error).message}; read so far: ${JSON.stringify(this.text)}`);
    }
  }

  /** Closes the connection and waits for the reader. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // Closed already.
    }
    await this.#reader;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const count = await this.#conn.read(buffer);
        if (count === null) break;
        const grown = new Uint8Array(this.#bytes.length + count);
        grown.set(this.#bytes);
        grown.set(buffer.subarray(0, count), this.#bytes.length);
        this.#bytes = grown;
      }
    } catch {
      // Reset or closed by us.
    } finally {
      this.#closed = true;
    }
  }
}

/**
 * Tells whether `haystack` holds the bytes of `needle` in a row.
 *
 * @param haystack the bytes to search
 * @param needle the bytes to find
 * @returns true when found
 */
export function hasBytes(haystack: Uint8Array, needle: readonly number[]): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
