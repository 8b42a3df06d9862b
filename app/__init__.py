"""Qt-free core of the director app: engine, runtime, session link, local control API.

Filled in by the desktop-app issue."""
