"""The scheduler: maintenance jobs that follow the settings, leader election, job
handlers, run recording, and scheduled setting changes (see docs/jobs.md)."""
