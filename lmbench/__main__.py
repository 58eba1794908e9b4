from lmbench.cli.app import main

main()
