"""One module per reference-stack component; each exposes ``async def run(ctx)``."""
