"""What a run leaves for people: checkpoint and path files, claims, tables and figures."""
