"""The Windows permission rows from icacls listings (no Windows here: simulated runs)."""

from __future__ import annotations

from omero_tui.core.discovery import Determined, ServerLocation
from omero_tui.core.findings import Severity, worst
from omero_tui.core.perms.fix import plan_fix
from omero_tui.core.perms.windows import check_permissions_windows, windows_user

LISTINGS = {
    r"C:\OMERO": r"""C:\OMERO NT AUTHORITY\SYSTEM:(OI)(CI)(F)
         BUILTIN\Administrators:(OI)(CI)(F)
         BUILTIN\Users:(OI)(CI)(RX)

Successfully processed 1 files; Failed processing 0 files
""",
    r"C:\OMERO\Pixels": r"""C:\OMERO\Pixels OMESERVER\omeservice:(OI)(CI)(M)
                BUILTIN\Users:(I)(OI)(CI)(RX)

Successfully processed 1 files; Failed processing 0 files
""",
    r"C:\OMERO\ManagedRepository": r"""C:\OMERO\ManagedRepository BUILTIN\Users:(I)(OI)(CI)(RX)

Successfully processed 1 files; Failed processing 0 files
""",
}


def simulated_icacls(path: str) -> str:
    return LISTINGS.get(path, f"{path}: The system cannot find the file specified.\n")


def location() -> ServerLocation:
    # Built by hand: discover() makes paths absolute the POSIX way on this machine.
    return ServerLocation(
        server_dir=Determined(r"C:\OMERO.server", "from --server-dir"),
        config_path=None,
        profile=Determined("default", "stored in config.xml"),
        data_dir=Determined(r"C:\OMERO", "omero.data.dir in config.xml"),
        managed_dir=Determined(
            r"C:\OMERO\ManagedRepository", "OMERO's default: omero.managed.dir not set"
        ),
    )


def test_rows_and_fix_plan_from_icacls_simulated() -> None:
    user = windows_user("omeservice", "chosen", "omeservice was chosen by the admin")
    report = check_permissions_windows(location(), user, run=simulated_icacls)
    rows = {r.label: r for r in report.rows}
    assert set(rows) == {"data dir", "Pixels", "ManagedRepository"}
    assert (rows["Pixels"].read, rows["Pixels"].write, rows["Pixels"].traverse) == (
        True,
        True,
        True,
    )
    assert (rows["data dir"].read, rows["data dir"].write) == (True, False)
    assert worst(report.findings) is Severity.CRITICAL
    assert "perms.not_writable" in {f.code for f in report.findings}
    plan = plan_fix(report)
    assert plan.platform == "windows"
    assert plan.commands == (r"icacls C:\OMERO /grant omeservice:(OI)(CI)M /T",)
    assert plan.cannot_apply  # the console shows the command; the admin runs it


def test_a_repository_the_account_may_modify_is_green_simulated() -> None:
    listings = {
        p: t.replace(r"BUILTIN\Users:", r"OMESERVER\omeservice:") for p, t in LISTINGS.items()
    }
    listings = {p: t.replace("(RX)", "(M)") for p, t in listings.items()}
    user = windows_user("omeservice", "settings", "server.user in the settings file")
    report = check_permissions_windows(location(), user, run=lambda p: listings.get(p, ""))
    assert worst(report.findings) is Severity.OK
    assert "omeservice can read, write and enter" in report.verdict
