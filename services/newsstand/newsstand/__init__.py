"""The newsstand's FastAPI application on paperboy (see services/README.md for its messages)."""
