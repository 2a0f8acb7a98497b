"""The DBOS engine: the same workflows in the bot's own process on SQLite or PostgreSQL (the
``dbos`` extra): its configuration, the engine behind the seam, and the stack that runs it with the bot."""
