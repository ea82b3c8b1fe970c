"""The Toxiproxy-compatible HTTP API of the hop engine, and a launcher for its process."""
