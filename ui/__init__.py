"""The desktop UI: the only package that imports PySide6 (and only below ui.main's dispatch).

main         the `returnfeed` / `returnfeed-desktop` entry point: subcommands and
             --headless go to app/ before any Qt import; otherwise the window opens
app          QApplication, theme, language, runtime and main window
bridge       core events -> Qt signals on the UI thread; UI -> core submits
models/      the show, audio, cameras and cloud link as Qt models, tested without widgets
video/       frame pump (QTimer pull), yuv -> QImage conversion, views and multiview
widgets/     the panels: buses, transition + T-bar, audio, go live, cameras, settings
hotkeys      1-9 0 Q-Y (sources 1-16), Shift+ them, Space, Enter, F
"""
