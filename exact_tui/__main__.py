from exact_tui.cli import main

main()
