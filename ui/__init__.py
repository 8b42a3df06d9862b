"""The desktop user interface; the only package that imports PySide6.

Filled in by the desktop-app issue."""
