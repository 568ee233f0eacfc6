"""`make profile`'s summary of py-spy's collapsed stacks: per process, by library."""

from tests.load.profile import BENCH, report, summarize

RAW = [
    'process 1:"python -m tests.load.bench --parts order";process 2:"python -m services.orders";'
    "_run_module_as_main (<frozen runpy>:198);main (services/orders/__main__.py:13);"
    "place_orders (services/orders/service.py:80);"
    "Session.execute (sqlalchemy/orm/session.py:2300) 6",
    'process 1:"python -m tests.load.bench --parts order";process 2:"python -m services.orders";'
    "main (services/orders/__main__.py:13);OutboxRelay.run (services/orders/adapters/outbox.py:9);"
    "Redis.xadd (redis/commands/core.py:3500) 4",
    'process 1:"python -m tests.load.bench --parts order";process 2:"python -m services.orders";'
    "<module> (services/orders/__main__.py:1);_find_and_load (<frozen importlib._bootstrap>:1176);"
    "<module> (sqlalchemy/__init__.py:1) 30",
    'process 1:"";run (tests/load/same_work.py:40);loads (json/__init__.py:346) 5',
    "not a sample line",
    # py-spy read the child's command line between fork and exec: its module names it
    'process 1:"python -m tests.load.bench";process 3:"python -m tests.load.bench";'
    "_run_module_as_main (<frozen runpy>:198);_run_code (<frozen runpy>:88);"
    "<module> (services/notifier/__main__.py:20);push (services/notifier/hub.py:5) 2",
]


def test_samples_go_to_their_innermost_process_and_library_and_startup_is_left_out() -> None:
    profiles = summarize(RAW)

    orders = profiles["services.orders"]
    assert (orders.samples, orders.startup) == (10, 30)
    assert orders.self_by_library == {"sqlalchemy": 6, "redis-py": 4}
    assert orders.inclusive_by_library["livecart"] == 10
    assert orders.inclusive_livecart["place_orders (services/orders/service.py)"] == 6
    assert profiles["services.notifier"].samples == 2
    bench = profiles[BENCH]
    assert (bench.samples, bench.self_by_library["json"]) == (5, 5)

    text = report(profiles)
    assert "== services.orders: 10 CPU samples (59 % of all; 30 more while starting up" in text
    assert "sqlalchemy             60 %     60 %" in text
