"""The `lineage-sharing` command and the library behind it: read a synthesized cloud assembly,
prove it came from the config given, plan the deploy order, check every producer→consumer pair
on real accounts (or in the offline simulation), and draw the mesh. cli.py is the argparse
layer; everything else is importable on its own."""
