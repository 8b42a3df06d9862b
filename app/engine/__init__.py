"""The switcher engine: one owner of the show state; commands in, events out; no Qt.

commands  frozen commands (SetPreview, Cut, Auto, TBar, SetGain, ...)
events    frozen events, derived from the state change (`diff`)
state     ShowState (immutable), SourceInfo, TransitionSettings, ManualTransition
reduce    the switcher logic as pure functions of (state, command, pts)
engine    Engine: applies commands, publishes events, feeds the program clock
timebase  "now" in program ticks: the clock's, or a counter for tests
media     MediaShow: sources, program clock and audio mixer, driven by engine events
tally     TallyOut: bus and camera changes to the relay client and NDI sources
"""
