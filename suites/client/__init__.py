"""Client conformance: a user's client against the reference stack (specs/client.md)."""
