"""Issue 14, item 3: the article's DBOS ``document_pipeline`` works as written on signoff's DBOS setup.

A real process runs it over five documents; the OpenAI stand-in holds the model's answer for the
third, the test SIGKILLs the process there, starts it again with the same workflow id, and the
pipeline finishes where it stopped: all results in order, documents 1 and 2 sent to the model once.
On SQLite (the default kind) and on a real PostgreSQL server.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.doubles.openai_standin import DEFAULT_API_KEY, OTHER_PREFIX, OpenAIStandIn
from tests.support.postgres import database_url
from tests.support.processes import ChildProcess
from tests.support.waiting import eventually

pytestmark = [pytest.mark.process, pytest.mark.slow]

DOCUMENTS = [f"doc-{n}" for n in range(1, 6)]
HELD = "doc-3"
WORKFLOW_ID = "article-document-pipeline-1"
PROCESS_TIMEOUT = 90.0  # a hang, not a bound: DBOS and the Agents SDK take seconds to import here


def _prompt(doc: str) -> str:
    return f"Process this document: {doc}"


@pytest.fixture
async def standin() -> AsyncIterator[OpenAIStandIn]:
    async with OpenAIStandIn(other_agents=True) as started:
        yield started


@pytest.fixture(params=["sqlite", "postgresql"])
def system_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pipeline.sqlite'}"
    else:
        yield database_url(request.getfixturevalue("postgres_url"), f"article_pipeline_{os.getpid()}")


def pipeline_process(env: dict[str, str], log: Path) -> ChildProcess:
    """``python -m tests.dbos.article_pipeline`` as a real process, its results on its own stdout."""
    return ChildProcess(
        ["--workflow-id", WORKFLOW_ID, *DOCUMENTS],
        env,
        log,
        command=("-m", "tests.dbos.article_pipeline"),
        stdout_file=log.with_suffix(".stdout"),
    )


async def test_the_article_pipeline_resumes_at_the_document_it_was_on(
    standin: OpenAIStandIn, system_database: str, tmp_path: Path
) -> None:
    standin.hang(containing=_prompt(HELD))
    pipeline = pipeline_process(
        {
            "SIGNOFF_DATABASE_URL": system_database,
            "OPENAI_BASE_URL": standin.base_url,
            "OPENAI_API_KEY": DEFAULT_API_KEY,
            "OPENAI_AGENTS_DISABLE_TRACING": "1",  # no trace upload to OpenAI
        },
        tmp_path / "pipeline.log",
    )
    try:
        pipeline.start()

        def at_the_held_document() -> bool:
            assert pipeline.running(), f"the pipeline exited early:\n{pipeline.output()}"
            return any(call.input == _prompt(HELD) and call.status == "hung" for call in standin.calls)

        await eventually(at_the_held_document, timeout=PROCESS_TIMEOUT)
        before_crash = [call.input for call in standin.calls]
        assert before_crash == [_prompt(doc) for doc in DOCUMENTS[:3]]
        pipeline.kill()

        pipeline.start()
        await eventually(lambda: not pipeline.running(), timeout=PROCESS_TIMEOUT, interval=0.1)
        assert pipeline.process is not None
        assert pipeline.process.returncode == 0, pipeline.output()
    finally:
        pipeline.stop()

    results = json.loads(pipeline.stdout())
    assert results == [OTHER_PREFIX + _prompt(doc) for doc in DOCUMENTS]
    sent = Counter(call.input for call in standin.calls)
    # Finished steps are not repeated; the held one is asked again, once; the rest once each.
    assert sent == {_prompt(doc): 2 if doc == HELD else 1 for doc in DOCUMENTS}
    after_restart = [call.input for call in standin.calls[len(before_crash) :]]
    assert after_restart == [_prompt(doc) for doc in DOCUMENTS[2:]], "the restart did not resume at document 3"
