"""``ullc-harness image build``: build the docker backend's image (and its layers) now.

The backend builds on first use too; this shows the same progress ahead of a
run and can rebuild the base from scratch (``--fresh``), as CI does.
"""

from __future__ import annotations

import argparse
import sys
import time

NAME = "image"
HELP = "build the docker backend's images (debootstrap base, dependencies, the project)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["build", "show"], help="build the images, or show tags")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="rebuild every layer, the debootstrap base included (CI does this)",
    )


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from harness.stack.docker import daemon, images

    tags = {
        "base": images.base_tag(),
        "deps": images.deps_tag(),
        "stack": images.stack_tag(),
    }
    if args.action == "show":
        for layer, tag in tags.items():
            print(f"{layer:<6} {tag}")
        return 0
    client = daemon.connect()
    if args.fresh:
        for tag in reversed(tags.values()):
            if images.exists(client, tag):
                _progress(f"removing {tag} (--fresh)")
                client.images.remove(tag, force=True)
    started = time.monotonic()
    built = images.ensure_image(client, _progress)
    verb = "built" if built.built else "up to date"
    print(f"image: {built.tag} ({verb} in {time.monotonic() - started:.1f} s)")
    return 0
