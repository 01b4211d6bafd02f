#!/usr/bin/env bash
# Adds rfedit to the desktop's application menu for the current user (no root needed):
# a launcher that runs this checkout's .venv/bin/rfedit, and the app icon.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
exe="$here/.venv/bin/rfedit"
[ -x "$exe" ] || { echo "run the README's set-up command first ($exe is missing)" >&2; exit 2; }
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
cp "$here/resources/icons/app.svg" "$icons/rfedit.svg"
sed "s|^Exec=rfedit|Exec=$exe|" "$here/packaging/linux/rfedit.desktop" > "$apps/rfedit.desktop"
if command -v update-desktop-database > /dev/null; then update-desktop-database "$apps" || true; fi
echo "rfedit added to the application menu ($apps/rfedit.desktop)"
