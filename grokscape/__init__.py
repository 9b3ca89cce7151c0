"""grokscape: the library behind the workflow that studies paths through a grokking network's loss landscape."""
