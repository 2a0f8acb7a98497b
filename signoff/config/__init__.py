"""Settings, one pydantic-settings model per concern, read from the environment (and .env): their
types and one-line errors, the Temporal profile (temporalio.envconfig), optional extras, ports."""
