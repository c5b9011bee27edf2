"""The scheduler: the leader's APScheduler, kept in step with the settings, and the
loop that applies scheduled setting changes. What jobs exist, how a run is recorded
and how a scheduled change is applied belong to the jobs service (app/services/jobs.py);
this package only decides when."""
