"""The engine protocol: what the GUI and the CLI send to an engine process, and what comes back.

Pure Python plus numpy (no torch, no Qt), so both sides use the same code: the GUI process and
`rfedit-cli --server` as clients, `rfedit_desktop.server` as the engine. HTTP carries requests
and results; a server-sent event stream per job carries its progress and previews.
"""

PROTOCOL_VERSION = 1
PROTOCOL_HEADER = "X-Rfedit-Protocol"
