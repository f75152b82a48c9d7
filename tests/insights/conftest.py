from contextlib import contextmanager

import pytest

from insights import indexing


@pytest.fixture
def indexed(django_capture_on_commit_callbacks):
    """`with indexed():` runs, at the end of the block, what waits for the transaction to
    commit (a test's transaction never does): the search index updates among them."""

    @contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        indexing.run_pending()

    return run
