"""`python -m services.notifier` serves the notifier on the configured host/port."""

import sys

from services.common.serve import serve
from services.notifier.config import NotifierSettings
from services.notifier.entrypoints.app import create_app


def main() -> int:
    settings = NotifierSettings()
    serve(create_app(settings), settings, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
