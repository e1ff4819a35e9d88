"""What the JSON outputs and ``config get`` hide: values of ``*pass``/``*password`` keys
(OMERO's rule) and the password inside a database URL or a libpq conninfo string."""

from __future__ import annotations

import pytest

from omero_tui.core.json_output import HIDDEN, hide_secrets, hide_url_passwords


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (
            "postgresql://omero:s3cret%20pass@db:5432/omero",
            f"postgresql://omero:{HIDDEN}@db:5432/omero",
        ),
        (
            "failed: postgres://u:a@b@/x?host=%2Ftmp now",
            f"failed: postgres://u:{HIDDEN}@/x?host=%2Ftmp now",
        ),
        ("host=/tmp password='a b\\' c' user=omero", f"host=/tmp password={HIDDEN} user=omero"),
        ("PASSWORD=plain", f"PASSWORD={HIDDEN}"),
    ],
)
def test_a_url_or_conninfo_password_is_hidden(text: str, hidden: str) -> None:
    assert hide_url_passwords(text) == hidden


@pytest.mark.parametrize(
    "text",
    ["jdbc:postgresql://db:5432/omero", "https://user@host/x", "omero.data.dir=/OMERO", ""],
)
def test_text_without_a_password_is_left_alone(text: str) -> None:
    assert hide_url_passwords(text) == text


def test_secret_keys_and_urls_in_nested_json() -> None:
    data = {
        "properties": {"omero.db.pass": "p w", "omero.db.name": "postgresql://o:pw@/db"},
        "rows": [{"root_password": "x", "empty_pass": ""}],
    }
    assert hide_secrets(data) == {
        "properties": {"omero.db.pass": HIDDEN, "omero.db.name": f"postgresql://o:{HIDDEN}@/db"},
        "rows": [{"root_password": HIDDEN, "empty_pass": ""}],
    }
