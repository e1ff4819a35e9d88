"""Configuration: OMERO's ``etc/grid/config.xml`` and the values it holds.

It judges nothing itself; it reads, changes and writes the configuration exactly as OMERO
does. Open ``xml_file`` first (the reader and writer), then ``lock`` (OMERO's lock
protocol, backups), ``commands`` (``config get/set``), ``ice_values`` (values to paths)
and ``windows_paths`` (Windows-era values read on Linux).
"""
