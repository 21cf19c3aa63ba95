#!/bin/sh
# Installs chat: downloads the executable for this machine and the release's SHA256SUMS, checks
# the executable's SHA-256 against it, and puts it on the PATH as `chat`.
#
#   curl -fsSL https://github.com/OWNER/REPO/releases/latest/download/install.sh | sh
#
# Settings (environment variables, all optional):
#   CHAT_INSTALL_DIR  where to put chat (default: ~/.local/bin)
#   CHAT_VERSION      a release tag such as v0.1.0 (default: the latest release)
#   CHAT_REPO         the GitHub repository chat is released from, as OWNER/REPO (the release
#                     workflow writes it into the copy of this script it publishes)
#   CHAT_BASE_URL     where the executables and SHA256SUMS are, instead of the GitHub release
#                     (any URL curl or wget reads, file:// included)
#
# Exit code 0 when chat is installed, 1 otherwise, with one line saying why on stderr.

set -eu

# The release workflow replaces this line with the repository it publishes from.
CHAT_DEFAULT_REPO=""

fail() {
  printf 'install.sh: %s\n' "$1" >&2
  exit 1
}

say() {
  printf '%s\n' "$1"
}

# The name the release gives the executable for this machine, from `uname`.
asset_name() {
  os=$(uname -s)
  arch=$(uname -m)
  case "$arch" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) fail "There is no chat executable for the processor \"$arch\"; run it from a checkout with Deno instead (see the README)" ;;
  esac
  case "$os" in
    Linux) printf 'chat-%s-unknown-linux-gnu' "$arch" ;;
    Darwin) printf 'chat-%s-apple-darwin' "$arch" ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
      fail "On Windows, download chat-x86_64-pc-windows-msvc.exe from the release page and check it against SHA256SUMS" ;;
    *) fail "There is no chat executable for the system \"$os\"; run it from a checkout with Deno instead (see the README)" ;;
  esac
}

# Downloads a URL to a file with curl or wget.
download() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL -o "$2" "$1" ||
      fail "Could not download $1; check CHAT_VERSION, CHAT_REPO or CHAT_BASE_URL and your connection"
  elif command -v wget >/dev/null 2>&1; then
    case "$1" in
      file://*) cp "${1#file://}" "$2" 2>/dev/null || fail "Could not read $1; check CHAT_BASE_URL" ;;
      *) wget -q -O "$2" "$1" ||
        fail "Could not download $1; check CHAT_VERSION, CHAT_REPO or CHAT_BASE_URL and your connection" ;;
    esac
  else
    fail "Neither curl nor wget is installed; install one of them and run this again"
  fi
}

# Prints the SHA-256 of a file in lower-case hex.
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else
    fail "No SHA-256 tool (sha256sum, shasum or openssl) is installed, so the download cannot be checked"
  fi
}

main() {
  asset=$(asset_name)
  if [ -n "${CHAT_BASE_URL:-}" ]; then
    base=${CHAT_BASE_URL%/}
  else
    repo=${CHAT_REPO:-$CHAT_DEFAULT_REPO}
    [ -n "$repo" ] ||
      fail "The repository to install from is not known; set CHAT_REPO=OWNER/REPO or CHAT_BASE_URL"
    if [ -n "${CHAT_VERSION:-}" ]; then
      base="https://github.com/$repo/releases/download/$CHAT_VERSION"
    else
      base="https://github.com/$repo/releases/latest/download"
    fi
  fi
  dir=${CHAT_INSTALL_DIR:-${HOME:?HOME is not set; set CHAT_INSTALL_DIR}/.local/bin}

  work=$(mktemp -d 2>/dev/null || mktemp -d -t chat-install)
  trap 'rm -rf "$work"' EXIT INT TERM

  say "Downloading $asset from $base"
  download "$base/SHA256SUMS" "$work/SHA256SUMS"
  expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1; exit }' "$work/SHA256SUMS")
  [ -n "$expected" ] || fail "SHA256SUMS at $base has no line for $asset"
  download "$base/$asset" "$work/$asset"
  actual=$(sha256_of "$work/$asset")
  [ "$actual" = "$expected" ] ||
    fail "The SHA-256 of $asset is $actual, but SHA256SUMS says $expected; the download is damaged or not the release, so nothing was installed"

  mkdir -p "$dir" || fail "Could not create $dir; set CHAT_INSTALL_DIR to a directory you can write"
  chmod 755 "$work/$asset"
  mv -f "$work/$asset" "$dir/chat" || fail "Could not write $dir/chat; set CHAT_INSTALL_DIR to a directory you can write"
  say "Installed $dir/chat ($("$dir/chat" --version 2>/dev/null | head -n 1 || true))"
  case ":$PATH:" in
    *":$dir:"*) say "Run: chat serve    and on another machine: chat join HOST" ;;
    *) say "$dir is not on your PATH; add it (export PATH=\"$dir:\$PATH\") or run $dir/chat" ;;
  esac
}

main "$@"
