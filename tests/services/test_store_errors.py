"""Driver failures become coded errors; nothing else is swallowed."""

import pytest
from pymongo.errors import AutoReconnect, ExecutionTimeout, OperationFailure

from app.errors import TimedOut, Unavailable
from app.services.store_errors import store_errors


@pytest.mark.parametrize(
    ("raised", "expected", "code"),
    [
        (AutoReconnect("gone"), Unavailable, "UNAVAILABLE"),
        (ExecutionTimeout("operation exceeded time limit", 50), TimedOut, "TIMEOUT"),
    ],
)
def test_store_failures_become_coded_errors(
    raised: Exception, expected: type[Exception], code: str
) -> None:
    with pytest.raises(expected) as caught, store_errors("probe"):
        raise raised

    assert getattr(caught.value, "code", None) == code


def test_other_driver_errors_pass_through_to_be_masked() -> None:
    with pytest.raises(OperationFailure), store_errors("probe"):
        raise OperationFailure("bad query", 2)
