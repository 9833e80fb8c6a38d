from .command_line.entry import console

console()
