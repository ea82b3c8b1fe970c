"""The docker backend: one container per component on an internal network (DESIGN.md §6, §10)."""
