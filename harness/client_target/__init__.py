"""A user's client as a target: run its command, read what it did off the harness's hops.

``command`` runs a client-under-test command (specs/client.md CLI-1); ``wire`` turns the
hop captures of that run into per-call wire events; ``observe`` does both around one run.
The client suite (``suites/client``) judges those events; nothing here trusts what the
client says about itself beyond its exit status.
"""
