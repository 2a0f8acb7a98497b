"""Every workflow patch id, in one table: what each changed and since when it is versioned.

A patch keeps workflows that were running when a change was deployed on the path they began
(``durable().patched(...)`` on Temporal, ``DBOS.patch_async`` markers on DBOS); the replay tests keep
histories from before each one (``tests/histories/before-<patch>/``). Ids are recorded in histories:
never change one, add a new patch instead.
"""

from __future__ import annotations

# Workflows started before the requester was told by the workflow (the bot polled and told
# them) must replay without these ephemerals.
TELL_REQUESTER_PATCH = "tell-requester"
# Reminders and the deadline follow their timer, not a later clock reading; workflows started
# before this keep the old rule on replay.
TIMER_DRIVEN_GATE_PATCH = "timer-driven-gate"
# The executor acts through tools, each side effect allowed by a person; plans started before
# replay with the executor that only wrote about the plan.
EXECUTOR_TOOLS_PATCH = "executor-tools"
# A post that completes while the workflow is being cancelled is remembered, so the cleanup
# removes its buttons; workflows cancelled before this replay without that cleanup.
KEEP_POST_ON_CANCEL_PATCH = "keep-post-on-cancel"
# Stopping a run at its token budget (SIGNOFF_TOKEN_BUDGET) posts to the thread.
TOKEN_BUDGET_PATCH = "token-budget"
# The workflow keeps its search attributes (signoff.contracts.search_attributes) up to date, when its settings
# say the namespace has them registered.
SEARCH_ATTRIBUTES_PATCH = "search-attributes"
# When the last waiting call is allowed, its action goes first and the thread's posts about the
# Allow follow it: the action then shares the worker and the channel's posting pace with nothing
# (Slack calls all, so a slow Slack delays both alike). Runs started before posted first.
ACTION_FIRST_PATCH = "tool-action-first"
# The phase follows a decision as soon as it lands (before the thread's posts about it), so the
# status, the lists and the SignoffPhase search attribute agree with the draft at once.
DECIDED_PHASE_PATCH = "phase-at-decision"
# read_channel without asking only on the plan's own conversation, and Always allow scoped to the
# tool and its target conversation. Runs started before keep the tool-wide rules they began with.
TOOL_TARGETS_PATCH = "tool-call-targets"
# Reminders stop after MAX_ESCALATIONS escalations (the last says so), and no timer is set further
# than MAX_WAIT from the draft's clock (a longer interval or deadline from before the settings were
# bounded overflowed the timestamp); a gate that began waiting before this keeps the old schedule.
BOUNDED_GATE_PATCH = "bounded-gate"
# Requests are refused where the bounds say so (waits over ten years, duplicate approvers, a quorum
# only the requester could complete); a request taken before them replays by the old rules.
BOUNDED_REQUEST_PATCH = "bounded-request"
# A request made through the HTTP API with a callback_url posts its result there, signed, when it ends.
WEBHOOK_PATCH = "request-webhook"
# ... and when it fails (rather than being decided, expiring or cancelled), it posts that too, with the error.
FAILED_WEBHOOK_PATCH = "request-webhook-on-failure"
# A request started by the Workflow Builder step completes (or fails) that step when it ends.
WORKFLOW_STEP_PATCH = "workflow-step-completion"
# A request asking about one tool call (signoff mcp-proxy, signoff hook) shows the tool-call message
# and its gate, and waits for its caller to run the allowed call once.
PROXIED_TOOL_CALL_PATCH = "proxied-tool-call"
# ... and once its caller has closed it (finish_tool_call), its tool call says so (``closed``), so the
# same call from another proxy process asks anew instead of joining it while it posts its last notes.
TOOL_CALL_CLOSED_PATCH = "proxied-tool-call-closed"

# A report's agent steps show as one streamed message per draft (chat.startStream …), phase notes where
# Slack won't stream; runs started before post the notes.
STREAMED_PROGRESS_PATCH = "streamed-progress"
# Drafts take Claim, Release and Delegate (the gate's routing updates); a run whose draft opened
# before refuses them, so its history never holds one.
ROUTING_PATCH = "draft-routing"
# A reminder also reaches each named decider who has not acted by direct message, with the buttons.
DM_REMINDERS_PATCH = "dm-reminders"
# As its first draft opens, a request hands the part of each approver who is away (/signoff away) to
# their delegate, or leaves it to the other approvers.
AWAY_PATCH = "away-routing"

# The patches from before the DBOS engine: every DBOS run has taken their new branch, with no
# marker recorded, so they stay true there. Every later patch is checked with ``patched_async``
# (DBOS.patch_async: a marker, so a run recovered after it takes the branch it took before).
PATCHES_BEFORE_DBOS = frozenset(
    {
        TELL_REQUESTER_PATCH,
        TIMER_DRIVEN_GATE_PATCH,
        EXECUTOR_TOOLS_PATCH,
        KEEP_POST_ON_CANCEL_PATCH,
        TOKEN_BUDGET_PATCH,
        SEARCH_ATTRIBUTES_PATCH,
    }
)

# Every patch id: what a run on Restate records as the patches its code knew (its first step), so a
# release that adds one leaves the runs in flight on their old branch (signoff.restate.engine).
ALL_PATCHES = frozenset(
    value for name, value in dict(globals()).items() if name.endswith("_PATCH") and isinstance(value, str)
)
