"""The local backend: every component a process on its own loopback address (DESIGN.md §6)."""
