# __main__.py: `python -m wanwatch` / `micropython -m wanwatch`.
import sys

from wanwatch.cli import main

sys.exit(main(sys.argv[1:]))
