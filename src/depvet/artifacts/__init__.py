"""Reading artifacts safely: archives in memory, directories, installed environments."""
