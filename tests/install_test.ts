/**
 * `install.sh` run by a POSIX shell (dash where it is installed) against a local directory that
 * stands in for a GitHub release: served over `file://` and by an HTTP server on 127.0.0.1. The
 * executables in it are small shell scripts standing in for the compiled chat (which cannot be
 * built here), each printing which platform it is for. `uname` is replaced by a script on the
 * PATH to play each platform.
 */

import assert from "node:assert/strict";
import { ROOT } from "./support/net.ts";
import { tempDir } from "./support/temp.ts";

const INSTALL_SH = new URL("install.sh", ROOT).pathname;

const ASSETS = [
  "chat-x86_64-unknown-linux-gnu",
  "chat-aarch64-unknown-linux-gnu",
  "chat-x86_64-apple-darwin",
  "chat-aarch64-apple-darwin",
  "chat-x86_64-pc-windows-msvc.exe",
] as const;

/** The shell that runs install.sh: dash if installed (the strictest common POSIX sh), else sh. */
const SHELL = await (async () => {
  try {
    await Deno.stat("/bin/dash");
    return "/bin/dash";
  } catch {
    return "/bin/sh";
  }
})();

/** The SHA-256 of bytes, in lower-case hex. */
async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A temporary directory with a fake release, a fake `uname` and a home; removed on dispose. */
class Sandbox implements AsyncDisposable {
  readonly dir: string;
  readonly release: string;
  readonly home: string;
  readonly fakeBin: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.release = `${dir}/release`;
    this.home = `${dir}/home`;
    this.fakeBin = `${dir}/fakebin`;
  }

  /** Makes the release (every asset and SHA256SUMS) and a `uname` playing `os` and `arch`. */
  static async create(os = "Linux", arch = "x86_64"): Promise<Sandbox> {
    const box = new Sandbox(tempDir("chat_install_test_"));
    await Deno.mkdir(box.release);
    await Deno.mkdir(box.home);
    await Deno.mkdir(box.fakeBin);
    const sums: string[] = [];
    for (const asset of ASSETS) {
      const bytes = new TextEncoder().encode(
        `#!/bin/sh\necho "chat 0.1.0"\necho "built for ${asset}"\n`,
      );
      await Deno.writeFile(`${box.release}/${asset}`, bytes);
      sums.push(`${await sha256(bytes)}  ${asset}`);
    }
    await Deno.writeTextFile(`${box.release}/SHA256SUMS`, sums.join("\n") + "\n");
    await box.playPlatform(os, arch);
    return box;
  }

  /** Replaces `uname` so that `uname -s` says `os` and `uname -m` says `arch`. */
  async playPlatform(os: string, arch: string): Promise<void> {
    await Deno.writeTextFile(
      `${this.fakeBin}/uname`,
      `#!/bin/sh\ncase "$1" in -s) echo "${os}" ;; -m) echo "${arch}" ;; *) exit 1 ;; esac\n`,
      { mode: 0o755 },
    );
  }

  /** Runs install.sh with these settings over a minimal environment; at most 60 s. */
  async install(env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
    const { code, stdout, stderr } = await new Deno.Command(SHELL, {
      args: [INSTALL_SH],
      clearEnv: true,
      env: {
        PATH: `${this.fakeBin}:/usr/local/bin:/usr/bin:/bin`,
        HOME: this.home,
        XDG_CONFIG_HOME: `${this.home}/.config`,
        XDG_DATA_HOME: `${this.home}/.local/share`,
        ...env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const text = new TextDecoder();
    return { code, out: text.decode(stdout), err: text.decode(stderr) };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** Runs a file and returns what it printed. */
async function runInstalled(path: string): Promise<string> {
  const { code, stdout } = await new Deno.Command(path, { args: ["--version"] }).output();
  assert.equal(code, 0);
  return new TextDecoder().decode(stdout);
}

/** Whether a path exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("install.sh installs the checked executable for this platform from file://", async () => {
  await using box = await Sandbox.create("Linux", "x86_64");
  const run = await box.install({ CHAT_BASE_URL: `file://${box.release}` });
  assert.equal(run.code, 0, run.err);
  assert.equal(run.err, "");
  const installed = `${box.home}/.local/bin/chat`;
  assert.equal(
    await runInstalled(installed),
    "chat 0.1.0\nbuilt for chat-x86_64-unknown-linux-gnu\n",
  );
  assert.equal((await Deno.stat(installed)).mode! & 0o777, 0o755);
  assert.match(run.out, new RegExp(`Installed ${installed} \\(chat 0\\.1\\.0\\)`));
  // ~/.local/bin is not on the PATH given, and the script says so.
  assert.match(run.out, /is not on your PATH/);
});

Deno.test("install.sh picks the executable for each platform it supports", async () => {
  await using box = await Sandbox.create();
  const platforms = [
    ["Linux", "x86_64", "chat-x86_64-unknown-linux-gnu"],
    ["Linux", "aarch64", "chat-aarch64-unknown-linux-gnu"],
    ["Linux", "arm64", "chat-aarch64-unknown-linux-gnu"],
    ["Darwin", "x86_64", "chat-x86_64-apple-darwin"],
    ["Darwin", "arm64", "chat-aarch64-apple-darwin"],
  ] as const;
  for (const [os, arch, asset] of platforms) {
    await box.playPlatform(os, arch);
    const dir = `${box.dir}/bin-${os}-${arch}`;
    const run = await box.install({
      CHAT_BASE_URL: `file://${box.release}`,
      CHAT_INSTALL_DIR: dir,
    });
    assert.equal(run.code, 0, `${os} ${arch}: ${run.err}`);
    assert.match(await runInstalled(`${dir}/chat`), new RegExp(`built for ${asset}\n$`));
  }
});

Deno.test("install.sh refuses a download whose SHA-256 does not match, and installs nothing", async () => {
  await using box = await Sandbox.create();
  await Deno.writeTextFile(
    `${box.release}/chat-x86_64-unknown-linux-gnu`,
    "#!/bin/sh\necho tampered\n",
  );
  const run = await box.install({ CHAT_BASE_URL: `file://${box.release}` });
  assert.equal(run.code, 1);
  assert.match(
    run.err,
    /^install\.sh: The SHA-256 of chat-x86_64-unknown-linux-gnu is [0-9a-f]{64}, but SHA256SUMS says [0-9a-f]{64}; .*nothing was installed\n$/,
  );
  assert.equal(await exists(`${box.home}/.local/bin/chat`), false);
});

Deno.test("install.sh over HTTP on 127.0.0.1: installs, and says which download failed", async () => {
  await using box = await Sandbox.create("Darwin", "arm64");
  const requested: string[] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const name = new URL(request.url).pathname.split("/").at(-1) ?? "";
      requested.push(name);
      try {
        return new Response(await Deno.readFile(`${box.release}/${name}`));
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}/download/v0.1.0`;
  const dir = `${box.dir}/bin`;
  const path = `${box.fakeBin}:${dir}:/usr/bin:/bin`;
  const run = await box.install({ CHAT_BASE_URL: base, CHAT_INSTALL_DIR: dir, PATH: path });
  assert.equal(run.code, 0, run.err);
  // The directory is on the PATH, so the script gives the commands to run.
  assert.match(run.out, /Run: chat serve {4}and on another machine: chat join HOST\n$/);
  assert.deepEqual(requested, ["SHA256SUMS", "chat-aarch64-apple-darwin"]);
  assert.match(await runInstalled(`${dir}/chat`), /built for chat-aarch64-apple-darwin/);

  await Deno.remove(`${box.release}/chat-aarch64-apple-darwin`);
  const missing = await box.install({ CHAT_BASE_URL: base, CHAT_INSTALL_DIR: `${box.dir}/b2` });
  assert.equal(missing.code, 1);
  assert.match(
    missing.err,
    // curl's own line (the HTTP status) may come first; the script's sentence ends it.
    new RegExp(
      `^install\\.sh: Could not download ${base}/chat-aarch64-apple-darwin; check .*\n$`,
      "m",
    ),
  );
});

Deno.test("install.sh says what to do on a platform without an executable, or without a source", async () => {
  await using box = await Sandbox.create();
  const base = { CHAT_BASE_URL: `file://${box.release}` };
  await box.playPlatform("Linux", "riscv64");
  let run = await box.install(base);
  assert.equal(run.code, 1);
  assert.match(run.err, /^install\.sh: There is no chat executable for the processor "riscv64"; /);
  await box.playPlatform("MINGW64_NT-10.0", "x86_64");
  run = await box.install(base);
  assert.equal(run.code, 1);
  assert.match(run.err, /chat-x86_64-pc-windows-msvc\.exe from the release page/);
  await box.playPlatform("FreeBSD", "amd64");
  run = await box.install(base);
  assert.match(run.err, /no chat executable for the system "FreeBSD"/);

  await box.playPlatform("Linux", "x86_64");
  run = await box.install({});
  assert.equal(run.code, 1);
  assert.match(run.err, /set CHAT_REPO=OWNER\/REPO or CHAT_BASE_URL\n$/);
  await Deno.writeTextFile(`${box.release}/SHA256SUMS`, "");
  run = await box.install(base);
  assert.equal(run.code, 1);
  assert.match(run.err, /SHA256SUMS at file:\/\/.* has no line for chat-x86_64-unknown-linux-gnu/);
  assert.equal(await exists(`${box.home}/.local/bin/chat`), false);
});

const shellcheck = await (async () => {
  try {
    await new Deno.Command("shellcheck", { args: ["--version"], stdout: "null" }).output();
    return true;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "install.sh passes shellcheck as POSIX sh",
  ignore: !shellcheck,
  async fn() {
    const { code, stdout } = await new Deno.Command("shellcheck", {
      args: ["--shell=sh", INSTALL_SH],
      stdout: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stdout));
  },
});
