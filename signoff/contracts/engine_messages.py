"""What the bot and the DBOS engine say to each other through DBOS's system database.

DBOS has no updates and no queries. A click is a message on ``DECISIONS_TOPIC``; the workflow
checks it with the same validator Temporal would run, applies it, and answers on the event
``reply_event(message.id)``, which the bot waits on. What a query would return is an event the
workflow sets whenever it changes (``PROGRESS_EVENT``, ``DRAFT_EVENT``). Workflows are started by
name on ``QUEUE``, so the bot needs none of the workflow code and any engine process may run them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from signoff.contracts.tool_calls import ForwardInput, ToolDecisionInput
from signoff.contracts.workflow_io import (
    WORKFLOW_TYPES,
    ApproveInput,
    ClaimInput,
    DecisionReceipt,
    DelegateInput,
    Progress,
    RejectInput,
    ReleaseInput,
    RevisionInput,
    StepAsideInput,
    WorkflowKind,
)

QUEUE = "signoff"
DECISIONS_TOPIC = "signoff.decisions"
PROGRESS_EVENT = "signoff.progress"
DRAFT_EVENT = "signoff.draft"
# A SignoffRequest's result once decided (``SignoffRequestWorkflow.answer``): what the HTTP API reads
# while the request's webhook is still being delivered.
ANSWER_EVENT = "signoff.answer"
# The message that cancels a workflow: seen at its next wait (the buttons go, the thread says so).
CANCEL = "cancel"

# The DBOS workflow names: the Temporal workflow types, so logs and the two engines read alike.
WORKFLOW_NAMES = {kind: WORKFLOW_TYPES[kind] for kind in (WorkflowKind.REPORT, WorkflowKind.PLAN, WorkflowKind.REQUEST)}


def reply_event(message_id: str) -> str:
    return f"signoff.reply:{message_id}"


@dataclass(frozen=True)
class EngineMessage:
    """A decision (the name of the Temporal update it stands for, and its input) or ``CANCEL``.

    ``id`` is this attempt's (its reply is ``reply_event(id)``); ``decision_id`` the decision's, as
    Temporal's update id: once a decision is accepted, another attempt at it (a double click) gets
    the same receipt, while a refused one leaves it open to be taken again with new input, as a
    rejected update does. None (messages sent before it existed): the attempt's id is the decision's."""

    id: str
    name: str
    arg: Any = None
    decision_id: str | None = None


@dataclass(frozen=True)
class EngineReply:
    """The workflow's answer to one message: the receipt, or why it was refused (shown as is)."""

    receipt: DecisionReceipt | None = None
    refused: str | None = None


# Restate (signoff.restate.engine): the same messages as JSON, and what the shared handler
# ``status`` answers in place of Temporal's queries.
DECISION_INPUTS: dict[str, type] = {
    kind.__name__: kind
    for kind in (
        ApproveInput,
        RevisionInput,
        RejectInput,
        ToolDecisionInput,
        ClaimInput,
        ReleaseInput,
        DelegateInput,
        StepAsideInput,
        ForwardInput,
    )
}


@dataclass(frozen=True)
class WireMessage:
    """An ``EngineMessage`` as JSON: the decision's input stays JSON until the run knows its type."""

    id: str
    name: str
    arg_json: str = "null"
    decision_id: str | None = None
    # The input's class (one of DECISION_INPUTS), so the run decodes the same dataclass.
    arg_type: str | None = None

    @classmethod
    def of(cls, message: EngineMessage) -> WireMessage:
        arg_json = TypeAdapter(type(message.arg)).dump_json(message.arg).decode()
        arg_type = type(message.arg).__name__ if message.arg is not None else None
        return cls(message.id, message.name, arg_json, message.decision_id, arg_type)

    def arg(self) -> Any:
        """The decision's input as its dataclass (refused: a class that is no decision's input)."""
        if self.arg_type is None:
            return None
        kind = DECISION_INPUTS.get(self.arg_type)
        if kind is None:
            raise ValueError(f"{self.arg_type!r} is not a decision's input")
        return TypeAdapter(kind).validate_json(self.arg_json)


@dataclass(frozen=True)
class StatusView:
    """What the shared handler ``status`` answers: what Temporal's queries would."""

    progress: Progress | None = None
    draft: str = ""
    # A SignoffRequest's answer (``SignoffResult``'s JSON) once decided; what its ``answer`` query returns.
    answer: dict[str, Any] | None = None


@dataclass(frozen=True)
class RequestRun:
    """A SignoffRequest's input on Restate: the request, and what Temporal keeps as the run's memo
    (the HTTP API's key and body hash), kept in the run's state; the workflow reads only the request."""

    request: dict[str, Any]
    memo: dict[str, Any]
