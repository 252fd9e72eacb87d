"""The web admin: a Quart app serving the dashboard, the JSON API and the health endpoints."""
