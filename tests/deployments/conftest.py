"""Fixtures of the deployment models: one scratch server account per session, and a
hand install."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.deployments.ansible_model import server_account
from tests.deployments.kit import Install, hand_install, world_readable_root


@pytest.fixture(scope="session")
def server_user() -> Iterator[str]:
    with server_account() as name:
        yield name


@pytest.fixture
def install() -> Iterator[Install]:
    """A hand install in a root the stand-in server's account can read, removed after."""
    root = world_readable_root()
    try:
        yield hand_install(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
