import sys

from codeagent.cli.main import main

sys.exit(main())
