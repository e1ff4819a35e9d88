"""Disk usage: per-subdirectory totals that equal ``du``'s, free space and its trend.

It judges how full each volume is and how long until full. Open ``service`` first (one
scan end to end), then ``scan``/``walk``/``pool`` (the full scan), ``quick`` (the rescan of
changed directories) and ``report`` (the verdict).
"""
