"""Stage cli: ``python -m yt_study_buddy.cli``."""

import sys

from yt_study_buddy.cli import main

sys.exit(main())
