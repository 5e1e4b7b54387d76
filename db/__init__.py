"""WISP Console data layer: models, engine, migrations and the domain rules (no UI)."""
