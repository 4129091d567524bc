"""Backup pipeline: the backup file's freshness and the standby's data age."""
