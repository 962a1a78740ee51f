"""The Textual console (docs/architecture.md §Console): `build_app()` in `app.py` is the only way
in."""
