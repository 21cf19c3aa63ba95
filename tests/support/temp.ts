/**
 * Temporary directories and files for tests that never outlive the test run.
 *
 * Everything is made inside one root directory (`chat-test-*` in the system temp dir) per test
 * module, made on first use and removed when the module's runtime unloads: after its last test,
 * whether the tests passed or failed. A test can hand a directory to a child process (a server,
 * a tmux session) without removing it itself, since its processes have ended by then. A test
 * that wants the space back sooner can still remove its own directory.
 *
 * @example Usage
 * ```ts
 * import { tempDir } from "./temp.ts";
 *
 * const data = tempDir("chat-data-");
 * Deno.writeTextFileSync(`${data}/note`, "gone after the run");
 * ```
 *
 * @module
 */

let root: string | undefined;

function testRoot(): string {
  if (root === undefined) {
    const made = Deno.makeTempDirSync({ prefix: "chat-test-" });
    globalThis.addEventListener("unload", () => removeQuietly(made));
    root = made;
  }
  return root;
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch {
    // Already gone, or something in it cannot be removed (an immutable file): the run is over
    // either way, and a failed cleanup must not fail it.
  }
}

/**
 * Makes a new empty directory, removed with everything in it when the test module unloads.
 *
 * @param prefix the start of its name, saying which test made it (`"chat-data-"`)
 * @returns its absolute path
 */
export function tempDir(prefix: string): string {
  return Deno.makeTempDirSync({ dir: testRoot(), prefix });
}

/**
 * Makes a new empty file, removed when the test module unloads.
 *
 * @param prefix the start of its name, saying which test made it (`"chat-hosts-"`)
 * @returns its absolute path
 */
export function tempFile(prefix: string): string {
  return Deno.makeTempFileSync({ dir: testRoot(), prefix });
}
