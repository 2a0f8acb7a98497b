"""Temporal: the client connection (TLS, API key, data converter), tracing, search attributes, the
worker that runs the workflows and activities, and the dev server behind ``signoff dev``."""
