"""The operator command line: `python -m mm2ctl status | cutover` (see docs/migration.md)."""
