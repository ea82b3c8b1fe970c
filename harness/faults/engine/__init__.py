"""The asyncio hop engine: one timer heap, TCP and UDP proxies, and the hub holding them."""
