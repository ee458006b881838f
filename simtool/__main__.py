import sys

from simtool.cli.main import main

sys.exit(main())
