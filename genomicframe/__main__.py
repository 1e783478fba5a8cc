from genomicframe.cli import main

raise SystemExit(main())
