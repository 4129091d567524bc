"""Watch mode: automatic failover with hysteresis, fencing, pause/resume and notifications.

`decision.py` decides (pure); `watcher.py` runs one pair's rounds; `service.py` runs them all.
"""
