from depvet.cli import entry

entry()
