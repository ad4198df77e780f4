"""`python -m douyin_sim`: the same as the `douyin-sim` command."""

from .cli import main

raise SystemExit(main())
