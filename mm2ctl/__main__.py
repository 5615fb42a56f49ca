"""python -m mm2ctl status|cutover (see mm2ctl/cli.py)."""

import sys

from mm2ctl.cli import main

sys.exit(main())
