import sys

from rfedit_desktop.server.main import main

sys.exit(main())
