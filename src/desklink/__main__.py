from desklink.cli import main

raise SystemExit(main())
