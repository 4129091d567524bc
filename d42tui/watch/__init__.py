"""Watch mode: automatic failover with hysteresis, fencing, pause/resume and notifications.

The pure decision lives in `decision.py`; `watcher.py` runs it on the engine's poller.
"""
