"""The demo sandbox's shape: where its server, repository and second volume are.

``sandbox`` (which builds it) and the content writers both import this; the writers
never import the builder.
"""

from __future__ import annotations

from pathlib import Path

from omero_tui.core.record import frozen


@frozen
class DemoSandbox:
    root: Path
    server_dir: Path
    data_dir: Path
    managed_dir: Path  # data_dir/ManagedRepository
    second_volume: Path  # an empty "other disk" to practise relocations on
    omero_bin: Path  # server_dir/bin/omero, the stand-in CLI
    config_path: Path

    @classmethod
    def at(cls, root: Path) -> DemoSandbox:
        """Paths as built; after a practice relocation config.xml says where things are."""
        server_dir, data_dir = root / "OMERO.server", root / "OMERO"
        return cls(
            root,
            server_dir,
            data_dir,
            data_dir / "ManagedRepository",
            root / "volume2",
            server_dir / "bin" / "omero",
            server_dir / "etc" / "grid" / "config.xml",
        )
