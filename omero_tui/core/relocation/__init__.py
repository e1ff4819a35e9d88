"""Relocating the binary repository: plan, preflight, move, verify, rewrite, start.

The public API, for the CLI (``omero-tui relocate``) and the wizard:

- ``engine.prepare_relocation(location, target, what)`` -> ``Prepared`` (plan, scan,
  preflight; nothing changed)
- ``engine.run_relocation(prepared, progress=, on_step=, cancel=, ask=)`` -> ``RunResult``
- ``engine.resume_relocation()`` / ``rollback.rollback_relocation()`` /
  ``remove_source.remove_source()`` -> ``RunResult``
- ``rollback.check_rollback_allowed(status)``: RelocationRefused when a rollback would
  lose data (the server already ran on the new location); ask before offering one
- ``status.find_unfinished_relocation()`` -> the interrupted one, if any
- ``remove_source.clear_bioformats_cache(path)``

Modules are imported directly (this package imports nothing), so the verifier child
process and the console start without loading the whole engine.
"""
