"""`python -m rfedit_desktop` starts the window (same as the `rfedit` command)."""

from rfedit_desktop.app import main

raise SystemExit(main())
