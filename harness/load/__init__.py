"""Load on Locust: many harness clients as Locust users, one request event per call.

:mod:`harness.load.locustfile` is the file Locust runs (``-f``) in the master and in every
worker; :mod:`harness.load.bridge` lets gevent-based Locust drive the asyncio client;
:mod:`harness.load.routes` names a call's stats row; :mod:`harness.load.launch` starts
master and workers for ``ullc-harness load``. Only the locustfile and the bridge import
Locust or gevent (importing Locust monkey-patches the process), never the CLI.
"""
