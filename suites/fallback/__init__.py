"""Fallback: diverged routes recover through the signaling response (specs: FB)."""
