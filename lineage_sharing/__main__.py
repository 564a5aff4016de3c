"""`python -m lineage_sharing` is the `lineage-sharing` command."""

import sys

from lineage_sharing.cli import main

sys.exit(main())
