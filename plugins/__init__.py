"""In-tree plugins: every sub-package here is discovered as a plugin named after its folder."""
