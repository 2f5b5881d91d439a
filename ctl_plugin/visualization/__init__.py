"""Pictures of results: rank lists, AP distribution, key-point overlays, CTL adjacency."""
