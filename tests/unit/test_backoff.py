"""The one exponential back-off (services/common/backoff.py)."""

from services.common.backoff import Backoff
from services.common.streams.delivery import DeliveryPolicy


def test_pauses_double_from_the_base_up_to_the_cap_and_start_over_after_a_success() -> None:
    backoff = Backoff(0.1, 1.0)
    assert [backoff.failed() for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.succeeded()
    assert backoff.failed() == 0.1


def test_a_long_outage_stays_at_the_cap_without_overflowing() -> None:
    backoff = Backoff(0.1, 5.0)
    for _ in range(5000):
        pause = backoff.failed()
    assert pause == 5.0


def test_jitter_shortens_each_pause_by_at_most_its_fraction() -> None:
    backoff = Backoff(1.0, 1.0, jitter=0.5)
    pauses = [backoff.failed() for _ in range(200)]
    assert all(0.5 <= pause <= 1.0 for pause in pauses)
    assert len(set(pauses)) > 1


def test_a_consumer_pauses_longer_after_each_infrastructure_failure_in_a_row() -> None:
    policy = DeliveryPolicy(backoff_base_seconds=0.1, backoff_cap_seconds=0.3)
    assert [policy.infrastructure_failed() for _ in range(3)] == [0.1, 0.2, 0.3]
    policy.succeeded()
    assert policy.infrastructure_failed() == 0.1
