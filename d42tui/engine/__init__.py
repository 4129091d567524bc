"""What every front end shares below the actions: the pair model and its verdicts, the
poller, cron maths, the state file, the audit log and the locks (pure, or plain I/O)."""
