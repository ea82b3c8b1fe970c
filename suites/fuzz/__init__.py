"""Fuzzing: hostile datagrams, malformed signaling, call and fault sequences (STUN, SIG, SESS)."""
