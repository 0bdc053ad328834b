"""``python -m harness.cli``: the ``vlm-harness`` command."""

from harness.cli import main

main()
