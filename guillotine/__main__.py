from guillotine.cli import main

raise SystemExit(main())
