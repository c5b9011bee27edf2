"""Helpers shared by the tests (no tests here): plain modules, imported by name; fixtures
stay in the conftest.py of the directory that uses them.

- ``server``: an ASGI app (ours or a fake) served by uvicorn on a loopback port;
- ``runtimes``: runtimes standing in for service processes, closed at the end;
- ``scheduler``: the jobs' bots.yaml, a recording job handler, waiting for a leader;
- ``polling``: ``eventually``, polling a condition with a deadline;
- ``upstream``: a fake OpenAI-compatible model server (an external server);
- ``receiver``: a fake webhook receiver (an external server);
- ``tokens``: API token secrets and a tokens file;
- ``database``: admin statements, database URLs and one-off queries;
- ``cli``: the operator CLI run in-process through click;
- ``adoption``: a realistic platform bots.yaml and .env, for migrate/import tests;
- ``http``: small request helpers (same-origin headers);
- ``logs``: capturing the one log stream;
- ``registries``: a registry from before the platform's renames, installed for a block.
"""
