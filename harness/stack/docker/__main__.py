"""``python -m harness.stack.docker RUN_DIR NAME``: what each container runs (:mod:`.entry`).

The cyclic garbage collector is off while the component imports its modules:
they allocate objects that all live, so collections then are waste (about a
tenth of a container's start CPU, 18 containers starting at once on a few
cores). :func:`.entry.main` turns it back on before the component serves.
"""

import gc
import sys

gc.disable()

from harness.stack.docker.entry import main  # noqa: E402  (after gc.disable on purpose)

sys.exit(main(sys.argv[1:]))
