"""The article's DBOS example ("Alternative: DBOS for Simpler Durability"), as written, on signoff's DBOS setup.

Between the two ``# ---`` lines is the article's code verbatim but for one line: DBOS 3.4 has no
configuration it finds by itself (``DBOS()`` without ``config=`` is a TypeError; signoff/dbos/config.py says
where DBOS looks), so ``DBOS()`` gets signoff's configuration: SIGNOFF_DATABASE_URL, else SQLite
under .data/.

Run as a process by tests/dbos/test_article_pipeline.py::

    python -m tests.dbos.article_pipeline --workflow-id ID DOC [DOC ...]

runs ``document_pipeline`` over the documents under that workflow id (a second run with the same id
finishes the first's, or returns its result) and prints the results as a JSON list on stdout. The
model is whatever OPENAI_BASE_URL / OPENAI_API_KEY name (the tests: the OpenAI stand-in).
"""

# The article's imports stay in its order.
# ruff: noqa: I001

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from signoff.dbos.config import dbos_config
from signoff.config.settings import Settings

# --- the article's code
from dbos import DBOS, SetWorkflowID
from agents import Agent, Runner

DBOS(config=dbos_config(Settings.from_env(os.environ), name="article-pipeline"))  # the article: DBOS()

agent = Agent(
    name="ProcessingAgent",
    model="gpt-4.1",
    instructions="Process documents step by step.",
)


@DBOS.step()
async def process_document(doc: str) -> str:
    """Each step is automatically persisted to PostgreSQL."""
    result = await Runner.run(agent, input=f"Process this document: {doc}")
    return result.final_output


@DBOS.workflow()
async def document_pipeline(documents: list[str]) -> list[str]:
    """If the workflow crashes at document 5, it resumes from document 5."""
    results = []
    for doc in documents:
        result = await process_document(doc)
        results.append(result)
    return results


# --- end of the article's code


async def _run(workflow_id: str, documents: list[str]) -> list[str]:
    DBOS.launch()
    with SetWorkflowID(workflow_id):
        return await document_pipeline(documents)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.dbos.article_pipeline")
    parser.add_argument("--workflow-id", required=True)
    parser.add_argument("documents", nargs="+")
    args = parser.parse_args(argv)
    results = asyncio.run(_run(args.workflow_id, args.documents))
    print(json.dumps(results), flush=True)
    DBOS.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
