"""The Textual console: the only package that imports textual.

`ConsoleApp` (app.py) runs the engine's poller in a worker and shows its snapshots;
screens/ and widgets/ only render state and post messages upward.
"""
