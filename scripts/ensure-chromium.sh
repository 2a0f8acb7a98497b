#!/bin/sh
# Make sure Debian's Chromium is installed for the browser tests (Playwright drives
# /usr/bin/chromium; nothing is downloaded at test time). Idempotent: does nothing
# when Chromium is already there. Also installs a colour emoji font when it can, so
# the sandbox page shows the app's :emoji: (optional: failing that is not an error).
set -eu

CHROMIUM=/usr/bin/chromium
EMOJI_FONT=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf

if [ -x "$CHROMIUM" ] && [ -e "$EMOJI_FONT" ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    elif [ ! -x "$CHROMIUM" ]; then
        echo "ensure-chromium: $CHROMIUM is missing and this is not root (and there is no sudo)." >&2
        echo "ensure-chromium: install it yourself: apt-get install -y chromium" >&2
        exit 1
    else
        exit 0  # Chromium is there; the emoji font is a nicety
    fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
    if [ -x "$CHROMIUM" ]; then
        exit 0
    fi
    echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium at $CHROMIUM" >&2
    echo "ensure-chromium: (or point SIGNOFF_CHROMIUM at a Chromium binary)." >&2
    exit 1
fi

install() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null
}

if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: installing Debian's chromium (apt-get)..."
    if ! install chromium; then
        $SUDO apt-get update -qq >/dev/null || true
        if ! install chromium; then
            echo "ensure-chromium: could not install chromium with apt-get; the browser tests need $CHROMIUM." >&2
            exit 1
        fi
    fi
    if [ ! -x "$CHROMIUM" ]; then
        echo "ensure-chromium: apt-get installed chromium but $CHROMIUM is not there." >&2
        exit 1
    fi
fi

if [ ! -e "$EMOJI_FONT" ]; then
    install fonts-noto-color-emoji 2>/dev/null \
        || { $SUDO apt-get update -qq >/dev/null 2>&1 && install fonts-noto-color-emoji 2>/dev/null; } \
        || echo "ensure-chromium: no colour emoji font (fonts-noto-color-emoji); emoji may show as boxes." >&2
fi
exit 0
