"""Python stacks of a process's threads (py-spy), joined with where each thread runs."""
