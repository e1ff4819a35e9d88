from omero_tui.cli import main

raise SystemExit(main())
