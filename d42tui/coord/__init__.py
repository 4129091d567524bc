"""Coordination between watchers on several hosts, on etcd (see docs in README: Coordination).

`config` is the `coordination:` section; `etcd` the v3 JSON gateway client; `leader` the
per-pair lease and its fencing check; `observers` what each watcher publishes and how the
leader counts it.
"""
