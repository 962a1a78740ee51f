"""The Textual console (design §12): `build_app()` in `app.py` is the only way in."""
