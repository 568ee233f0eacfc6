"""`python -m services.notifier` serves the notifier on the configured host/port."""

import gc
import sys

from services.common.serve import serve
from services.notifier.config import NotifierSettings
from services.notifier.entrypoints.app import create_app

YOUNG_COLLECTION_THRESHOLD = 50_000
"""Allocations between young-generation collections (CPython's default: 700). A push to a
room of 10,000 allocates a few objects per connection, almost all freed at once by
reference counting; at 700 the collector ran so often, and reached the old generation
holding every connection so often, that it took a fifth of the process's time."""


def main() -> int:
    settings = NotifierSettings()
    app = create_app(settings)
    # What was built so far lives as long as the process: no collection needs to look at it.
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, 10, 10)
    serve(app, settings, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
