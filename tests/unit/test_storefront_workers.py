"""How many uvicorn workers the storefront runs, and how each builds its own app."""

import logging
import os
import pickle
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from services.common.serve import AppFactory
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints.app import create_app


@pytest.fixture
def root_logging() -> Iterator[None]:
    """AppFactory sets up a worker's logging: put the test runner's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_storefront_runs_one_worker_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STOREFRONT_WORKERS", raising=False)
    assert StorefrontSettings().worker_processes == 1


def test_workers_can_be_a_number_or_one_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREFRONT_WORKERS", "2")
    assert StorefrontSettings().worker_processes == 2
    monkeypatch.setenv("STOREFRONT_WORKERS", "auto")
    assert StorefrontSettings().worker_processes == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("workers", ["0", "-1", "many"])
def test_a_worker_count_that_makes_no_sense_is_refused(
    monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    monkeypatch.setenv("STOREFRONT_WORKERS", workers)
    with pytest.raises(ValidationError, match="workers"):
        StorefrontSettings()


def test_a_worker_builds_the_app_from_the_settings_it_was_handed(root_logging: None) -> None:
    settings = StorefrontSettings(token_secret="s" * 40, stream_prefix="lc-test-workers", workers=2)
    # What uvicorn hands a spawned worker: the factory, pickled.
    factory = pickle.loads(pickle.dumps(AppFactory(create_app, settings)))

    assert factory.settings == settings
    assert factory.settings.token_secret.get_secret_value() == "s" * 40
    assert isinstance(factory(), FastAPI)
