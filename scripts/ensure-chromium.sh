#!/bin/sh
# Make sure a Chromium is there for the browser tests (Playwright drives it; nothing is
# downloaded at test time). SIGNOFF_CHROMIUM names the binary (default: Debian's
# /usr/bin/chromium). Idempotent: does nothing when it is already there. Installs Debian's
# package with apt-get when it can, plus a colour emoji font (a nicety: failing that is fine).
#
# Without apt-get (or root/sudo) it says what to install and exits 0, so `make test` still
# runs: the browser tests then skip with that reason, except in CI (CI set), where a missing
# browser fails them.
set -eu

CHROMIUM=${SIGNOFF_CHROMIUM:-/usr/bin/chromium}
EMOJI_FONT=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf

say() { echo "ensure-chromium: $*" >&2; }

explain() {
    say "$CHROMIUM is missing and $1."
    say "install Chromium yourself (Debian/Ubuntu: apt-get install chromium; macOS: brew install --cask chromium)"
    say "and point SIGNOFF_CHROMIUM at its binary; until then the browser tests are skipped (and fail in CI)."
    exit 0
}

if [ -x "$CHROMIUM" ] && { [ -n "${SIGNOFF_CHROMIUM:-}" ] || [ -e "$EMOJI_FONT" ]; }; then
    exit 0
fi
if [ -n "${SIGNOFF_CHROMIUM:-}" ]; then
    # A binary of the user's choosing: not ours to install.
    explain "SIGNOFF_CHROMIUM points at it"
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    elif [ -x "$CHROMIUM" ]; then
        exit 0  # Chromium is there; the emoji font is a nicety
    else
        explain "this is not root (and there is no password-less sudo)"
    fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
    [ -x "$CHROMIUM" ] && exit 0
    explain "apt-get is not available"
fi

install() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null
}

if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: installing Debian's chromium (apt-get)..."
    if ! install chromium; then
        $SUDO apt-get update -qq >/dev/null || true
        install chromium || explain "apt-get could not install it"
    fi
    [ -x "$CHROMIUM" ] || explain "apt-get installed chromium somewhere else"
fi

if [ ! -e "$EMOJI_FONT" ]; then
    install fonts-noto-color-emoji 2>/dev/null \
        || { $SUDO apt-get update -qq >/dev/null 2>&1 && install fonts-noto-color-emoji 2>/dev/null; } \
        || say "no colour emoji font (fonts-noto-color-emoji); emoji may show as boxes."
fi
exit 0
