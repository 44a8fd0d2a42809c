"""Entry points: the `lotse` command and the ASGI app (the composition root of Lotse)."""
