"""The ``fupin`` console command: Django's management commands with Fupin's settings.

Command names may be written with hyphens (``fupin load-divisions``); they map to the
Django command of the same name with underscores.
"""

import os
import sys

# Commands whose name is a Python keyword live in modules with another name.
ALIASES = {"import": "import_package", "export": "export_package"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fupin.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    argv[0] = "fupin"
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = ALIASES.get(argv[1], argv[1].replace("-", "_"))
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
