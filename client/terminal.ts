/**
 * The terminal as the interactive client sees it: keys in, text out, raw mode, width, resize
 * and termination signals. One implementation uses the real terminal; tests supply their own.
 *
 * @module
 */

import { OutputQueue, writerSink } from "./output.ts";

/** What the interactive client needs from a terminal. */
export interface Terminal {
  /** Bytes typed (raw mode: every key as it is pressed). */
  readonly input: ReadableStream<Uint8Array>;
  /**
   * Queues text for the screen; text written in a burst goes out in one write.
   *
   * @param text text with ANSI sequences
   */
  write(text: string): void;
  /** Waits until everything written has reached the terminal. */
  drain(): Promise<void>;
  /**
   * Turns raw mode on or off.
   *
   * @param raw true for raw mode (no echo, no line editing, no signals from keys)
   */
  setRaw(raw: boolean): void;
  /**
   * Puts the terminal back at once, synchronously: raw mode off, the given text written. For
   * a crash, when there is no time for the orderly way out.
   *
   * @param text the text to write first (such as the sequence that ends bracketed paste)
   */
  restoreNow(text: string): void;
  /** The width in columns. */
  columns(): number;
  /**
   * Calls `listener` when the window is resized.
   *
   * @param listener the callback
   * @returns a function that removes the listener
   */
  onResize(listener: () => void): () => void;
  /**
   * Calls `listener` when the process is asked to stop (SIGTERM, SIGHUP, SIGINT).
   *
   * @param listener the callback
   * @returns a function that removes the listener
   */
  onTerminate(listener: () => void): () => void;
}

function _addSignal(signal: Deno.Signal, listener: () => void): () => void {
  try {
    Deno.addSignalListener(signal, listener);
  } catch {
    return () => {};
  }
  return () => {
    try {
      Deno.removeSignalListener(signal, listener);
    } catch {
      // Already removed.
    }
  };
}

/**
 * The process's own terminal: `Deno.stdin` and `Deno.stdout`.
 *
 * @returns the terminal
 */
export function denoTerminal(): Terminal {
  const output = new OutputQueue(writerSink(Deno.stdout));
  return {
    input: Deno.stdin.readable,
    write: (text) => output.write(text),
    drain: () => output.drain(),
    setRaw: (raw) => {
      try {
        Deno.stdin.setRaw(raw);
      } catch {
        // Not a terminal after all, or already restored.
      }
    },
    restoreNow: (text) => {
      try {
        const bytes = new TextEncoder().encode(text);
        let offset = 0;
        while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
      } catch {
        // Nothing more can be done for the screen.
      }
      try {
        Deno.stdin.setRaw(false);
      } catch {
        // Not a terminal after all.
      }
    },
    columns: () => {
      try {
        return Deno.consoleSize().columns || 80;
      } catch {
        return 80;
      }
    },
    onResize: (listener) => _addSignal("SIGWINCH", listener),
    onTerminate: (listener) => {
      // In raw mode Ctrl-C is a key, so SIGINT only comes from outside (kill -INT).
      const removers = (["SIGTERM", "SIGHUP", "SIGINT"] as const).map((signal) =>
        _addSignal(signal, listener)
      );
      return () => removers.forEach((remove) => remove());
    },
  };
}
