"""moto's server with the project's extensions (the ``moto_ext`` package beside this file)
applied first. Takes moto_server's arguments; the harness starts moto only through it."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import moto_ext  # noqa: E402,F401  (importing applies the extensions)
from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
