"""The engine as a service: the engine protocol served over HTTP, beside `jobs/`, above `engine/`.

A child process of the GUI on this machine (`python -m rfedit_desktop.server --local`), or
`rfedit-server` for other machines, optionally on Ray Serve replicas. Crashes stay on this side.
"""
