"""Fixtures of the deployment models: one scratch server account per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deployments.ansible_model import server_account


@pytest.fixture(scope="session")
def server_user() -> Iterator[str]:
    with server_account() as name:
        yield name
