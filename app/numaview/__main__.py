from numaview.cli import main

raise SystemExit(main())
