"""The `aftersales` console command: Django's management commands with our settings."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    from django.core.management import execute_from_command_line

    from aftersales.core.workers import without_reloader

    execute_from_command_line(without_reloader(sys.argv))


if __name__ == "__main__":
    main()
