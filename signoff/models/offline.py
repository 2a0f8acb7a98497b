"""A deterministic, offline stand-in for the LLM behind signoff's agents.

Its one job is writing the agents' offline text: every role's text is built from the
same key-term helpers, and the OpenAI stand-in serves these functions unchanged.

``OfflineModelProvider`` plugs into the OpenAI Agents SDK (``RunConfig(model_provider=...)``
or ``OpenAIAgentsPlugin(model_provider=...)``) so the whole research → write → review →
human sign-off loop runs without any AI service. Everything it writes is labelled as
offline sample text.

The text logic is pure (no I/O, clock or randomness: the same input always gives the
same output) and is exposed as plain functions so ``tests/doubles/openai_standin.py`` can
serve the same replies over the OpenAI HTTP API:

* ``detect_role(instructions)`` – the agent role from the first instructions line,
  ``You are signoff's <role> agent.``
* ``offline_reply(role, user_input)`` – the reply text for one agent call.
* ``key_terms(text)`` – the stop-word filtered words and bigrams a reply is built on.

What each role does offline:

* research – research notes (key terms, what to establish, open questions, leads).
* writer – a structured report built on the topic's key terms. The *first* draft
  (no reviewer feedback, no human notes) leaves out ``## Risks`` on purpose, so the
  offline reviewer rejects it and the AI review loop is visible; any later draft is
  complete, and human notes are quoted in ``## Revision notes addressed`` and worked
  into the summary, findings and recommendations.
* reviewer – ``ReviewVerdict`` JSON: not approved while a required section (Summary,
  Key findings, Risks, Recommendations) is missing or the draft is off topic.
* planner – a numbered plan specific to the task, with human notes applied as steps.
* executor – a step-by-step "executed (simulated offline)" report of the plan.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from agents import Model, ModelProvider, ModelResponse, ModelSettings, ModelTracing, Usage
from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.tool import Tool
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

__all__ = [
    "OFFLINE_LABEL",
    "OFFLINE_MODEL_NAME",
    "ROLES",
    "OfflineModel",
    "OfflineModelError",
    "OfflineModelProvider",
    "UnknownAgentRoleError",
    "detect_role",
    "estimate_tokens",
    "extract_user_text",
    "key_terms",
    "offline_reply",
    "offline_reply_for",
]

OFFLINE_LABEL = "_Written by signoff's offline model: deterministic sample text, no AI service was called._"
OFFLINE_MODEL_NAME = "signoff-offline"
ROLES = ("research", "writer", "reviewer", "planner", "executor")
REQUIRED_REPORT_SECTIONS = ("Summary", "Key findings", "Risks", "Recommendations")

# Guards: the model echoes parts of its input, so everything it echoes is capped.
MAX_INPUT_CHARS = 2_000_000  # what is parsed at all
MAX_SECTION_CHARS = 200_000  # what is kept of each prompt section
MAX_SUBJECT_CHARS = 500  # topic / task text used for key terms (matches MAX_TOPIC_CHARS)
MAX_TITLE_CHARS = 120  # topic / task shown in a heading
MAX_QUOTED_NOTES_CHARS = 3000  # human notes quoted verbatim (matches MAX_NOTES_CHARS)
MAX_FEEDBACK_ECHO_CHARS = 300
MAX_STEP_CHARS = 200
MAX_STEPS = 25
MAX_NOTE_STEPS = 5
MAX_TERMS = 6

_ROLE_RE = re.compile(r"you are signoff['\u2019]s\s+([a-z_-]+)\s+agent", re.IGNORECASE)


class OfflineModelError(ValueError):
    """The offline model was asked for something it cannot produce."""


class UnknownAgentRoleError(OfflineModelError):
    """The instructions do not name one of signoff's agent roles."""


# --------------------------------------------------------------------------- role & input


def detect_role(instructions: str | None) -> str:
    """The role named on the first line of the instructions (``You are signoff's X agent.``)."""
    text = (instructions or "").lstrip()
    first_line = text.splitlines()[0] if text else ""
    match = _ROLE_RE.search(first_line[:300])
    if match is None:
        shown = first_line[:120] or "<no instructions>"
        raise UnknownAgentRoleError(
            "signoff's offline model needs instructions whose first line is "
            f'"You are signoff\'s <role> agent." with role one of {", ".join(ROLES)}; '
            f"got {shown!r}"
        )
    role = match.group(1).lower()
    if role not in ROLES:
        raise UnknownAgentRoleError(
            f"signoff's offline model does not know the {role!r} agent role; known roles: {', '.join(ROLES)}"
        )
    return role


def _get(item: Any, key: str) -> Any:
    if isinstance(item, dict):
        return item.get(key)
    return getattr(item, key, None)


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, str):
            parts.append(part)
            continue
        text = _get(part, "text")
        if isinstance(text, str):
            parts.append(text)
    return "\n".join(parts)


def extract_user_text(input: str | list[Any] | None) -> str:
    """The text of the last user message in Responses-format input (or the string itself)."""
    if input is None:
        return ""
    if isinstance(input, str):
        return input
    for item in reversed(list(input)):
        role = _get(item, "role")
        item_type = _get(item, "type")
        if role == "user" and item_type in (None, "message"):
            return _content_text(_get(item, "content"))
    return ""


def estimate_tokens(text: str) -> int:
    """A rough, deterministic token count (about four characters per token)."""
    return max(1, (len(text) + 3) // 4) if text else 0


# --------------------------------------------------------------------------- key terms

_STOP_WORDS_TEXT = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each either etc few for from further get gets getting got had
    hadn't has hasn't have haven't having he her here hers herself him himself his how however i if
    in into is isn't it it's its itself just let's like make makes many may me might more most much
    must mustn't my myself need needs new no nor not now of off on once one only or other ought our
    ours ourselves out over own please same shall she should shouldn't so some such than that
    that's the their theirs them themselves then there these they this those through to too under
    until up upon us use used using very via vs was wasn't we well were weren't what when where
    whether which while who whom whose why will with within without won't would wouldn't yet you
    your yours yourself yourselves report write draft summary summarize overview review research
    analysis analyse analyze explain describe brief short quick look topic task plan thing things
    way ways today
    """
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

_WORD_RE = re.compile(r"[^\W_](?:[\w+#.'\u2019-]*[\w+#])?", re.UNICODE)


def _words(text: str) -> list[str]:
    words = []
    for raw in _WORD_RE.findall(text):
        word = re.sub(r"['\u2019]s$", "", raw)
        if word:
            words.append(word)
    return words


def _keep(word: str) -> bool:
    low = word.lower()
    if low in _STOP_WORDS:
        return False
    if len(word) >= 3:
        return True
    # Short words only when they look like acronyms or codes: "AI", "EU", "5G".
    return any(c.isupper() or c.isdigit() for c in word)


# Words that say what to do with a draft or plan rather than what it is about.
_NOTE_STOP_WORDS_TEXT = """
    add adding added cover covering include including mention mentioning remove drop keep focus
    expand shorten shorter longer less detail details detailed section sections step steps change
    changes fix update rewrite instead clarify point points part parts bit lot concise readable
    clearer better thanks thank ok okay sure good great looks want wanted think
    """
_NOTE_STOP_WORDS = frozenset(_NOTE_STOP_WORDS_TEXT.split())


def key_terms(text: str, limit: int = MAX_TERMS, *, notes: bool = False) -> list[str]:
    """Stop-word filtered bigrams and words of ``text``, bigrams first, as written.

    Deterministic; case-insensitive de-duplication keeps the first spelling. A leading
    word outside any bigram (usually a verb: "Rotate ...", "Migrating ...") is ranked
    last. ``notes=True`` also drops words that only say how to edit ("add", "cover").
    """
    words = _words(text[:MAX_SUBJECT_CHARS])
    kept = [_keep(w) and not (notes and w.lower() in _NOTE_STOP_WORDS) for w in words]
    bigrams: list[str] = []
    for i in range(len(words) - 1):
        if kept[i] and kept[i + 1] and words[i].lower() != words[i + 1].lower():
            bigrams.append(f"{words[i]} {words[i + 1]}")
    unigrams = [w for w, k in zip(words, kept, strict=True) if k]
    if len(unigrams) > 1 and words and unigrams[0] == words[0]:
        unigrams.append(unigrams.pop(0))

    terms: list[str] = []
    seen: set[str] = set()

    def add(term: str) -> None:
        if term.lower() not in seen and len(terms) < limit:
            seen.add(term.lower())
            terms.append(term)

    for bigram in bigrams[:3]:
        add(bigram)
    covered = {w.lower() for t in terms for w in t.split()}
    for word in unigrams:
        if word.lower() not in covered:
            add(word)
    if len(terms) < 3:  # short topics: fall back to the words inside the bigrams
        for word in unigrams:
            add(word)
    return terms


# --------------------------------------------------------------------------- helpers


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "\u2026"


def _one_line(text: str, limit: int) -> str:
    return _clip(" ".join(text.split()), limit)


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "replace")).digest()[:8], "big")


def _pick(options: list[str], seed: int, index: int) -> str:
    return options[(seed + index) % len(options)]


def _term(terms: list[str], index: int) -> str:
    return terms[index % len(terms)]


def _quote(text: str) -> str:
    clipped = text.strip()
    if len(clipped) > MAX_QUOTED_NOTES_CHARS:
        clipped = clipped[:MAX_QUOTED_NOTES_CHARS].rstrip() + "\u2026 (truncated)"
    return "\n".join(f"> {line}" if line.strip() else ">" for line in clipped.splitlines())


_SECTION_LABELS = (
    "Research",
    "Previous draft",
    "Reviewer feedback",
    "Human revision notes",
    "Draft",
    "Previous plan",
    "Approved plan",
)
_SECTION_RE = re.compile(r"\n\n(" + "|".join(map(re.escape, _SECTION_LABELS)) + r"):\n")
_LEAD_RE = re.compile(r"^\s*(Topic|Task):[ \t]*", re.IGNORECASE)


def _parse_prompt(user_input: str) -> tuple[str, dict[str, str]]:
    """Split ``Topic: ...\\n\\nResearch:\\n...`` style prompts into subject and sections."""
    text = (user_input or "")[:MAX_INPUT_CHARS].replace("\r\n", "\n")
    lead = _LEAD_RE.match(text)
    body = text[lead.end() :] if lead else text
    pieces = _SECTION_RE.split(body)
    subject = pieces[0][:MAX_SECTION_CHARS].strip()
    sections: dict[str, str] = {}
    # re.split with one group gives [subject, label, content, label, content, ...]: the halves match.
    for label, content in zip(pieces[1::2], pieces[2::2], strict=True):
        sections.setdefault(label, content[:MAX_SECTION_CHARS].strip())
    return subject, sections


def _subject_terms(subject: str) -> list[str]:
    terms = key_terms(subject)
    if not terms:
        terms = [_one_line(subject, 60) or "the topic"]
    return terms


def _title(subject: str) -> str:
    return _one_line(subject, MAX_TITLE_CHARS) or "(no topic given)"


def _note_lines(notes: str) -> list[str]:
    lines = []
    for line in notes.splitlines():
        line = line.strip().lstrip("-*\u2022 ").strip()
        if line:
            lines.append(_one_line(line, MAX_STEP_CHARS))
        if len(lines) >= MAX_NOTE_STEPS:
            break
    return lines


def _revision_number(previous: str | None, word: str) -> int:
    if not previous:
        return 1
    match = re.search(rf"{word} revision (\d+)", previous[:2000])
    return (int(match.group(1)) if match else 1) + 1


# --------------------------------------------------------------------------- research


def _research(subject: str) -> str:
    terms = _subject_terms(subject)
    seed = _seed("research:" + subject)
    establish = [
        "How **{t}** works today, and who depends on it.",
        "What has changed recently around **{t}**, and why it matters now.",
        "The size of the problem: numbers, volumes or costs tied to **{t}**.",
        "Which constraints (budget, regulation, people, tooling) limit **{t}**.",
        "What a good outcome for **{t}** looks like, in measurable terms.",
    ]
    questions = [
        "Who owns decisions about {t}?",
        "How is {t} measured today, if at all?",
        "What would break if {t} changed tomorrow?",
        "Which alternatives to {t} have been tried before, and what happened?",
        "What does {t} depend on that is outside our control?",
    ]
    leads = [
        "Official documentation, standards or specifications for {t}",
        "Recent case studies or post-mortems that mention {t}",
        "Internal data, tickets or past decisions about {t}",
        "Vendor or community comparisons covering {t}",
    ]
    lines = [
        OFFLINE_LABEL,
        "",
        f"## Research notes: {_title(subject)}",
        "**Key terms:** " + ", ".join(terms),
        "",
        "### What to establish",
    ]
    for i in range(min(4, max(3, len(terms)))):
        lines.append("- " + _pick(establish, seed, i).format(t=_term(terms, i)))
    lines += ["", "### Open questions"]
    for i in range(3):
        lines.append("- " + _pick(questions, seed, i * 2).format(t=_term(terms, i + 1)))
    lines += ["", "### Leads to check"]
    for i in range(3):
        lines.append("- " + _pick(leads, seed, i).format(t=_term(terms, i)))
    lines += ["", "_No sources were consulted: these notes only structure the topic._"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- writer

_FINDINGS = [
    "**{t}** is the factor that most shapes the outcome; confirm its current state with a "
    "primary source before relying on it.",
    "Effort and cost depend heavily on how **{t}** is scoped; at least two approaches compete.",
    "Practice around **{t}** is uneven, so a baseline measurement should come before any decision.",
    "Stakeholders are likely to judge the result by **{t}**, which makes it the natural success metric.",
    "Most open questions sit where **{t}** meets **{u}**.",
    "Small, reversible changes to **{t}** carry far less risk than a single large change.",
]
_RISKS = [
    "Assumptions about **{t}** are unverified: this draft was produced offline without looking anything up.",
    "Scope creep: **{t}** and **{u}** can each grow into a separate project.",
    "Dependency risk: a change in **{t}** would invalidate several findings above.",
    "Ownership gap: if nobody is accountable for **{t}**, the recommendations will stall.",
]
_RECOMMENDATIONS = [
    "Start with a small, time-boxed pilot focused on **{t}**.",
    "Name an owner for **{t}** and agree how progress will be measured.",
    "Re-check the findings on **{u}** against a current primary source before acting.",
    "Review the decision on **{t}** again once the pilot has produced data.",
]
_SOURCES = [
    "Official documentation or standards covering {t}",
    "Recent (last 12 months) case studies mentioning {t}",
    "Internal data and past decisions related to {t}",
    "Independent comparisons or benchmarks of {t}",
]


def _writer(subject: str, sections: dict[str, str]) -> str:
    terms = _subject_terms(subject)
    seed = _seed("writer:" + subject)
    previous = sections.get("Previous draft")
    feedback = sections.get("Reviewer feedback", "").strip()
    notes = sections.get("Human revision notes", "").strip()
    complete = bool(feedback or notes)
    revision = _revision_number(previous, "Draft")
    known = {x.lower() for x in terms}
    note_terms = [t for t in key_terms(notes, notes=True) if t.lower() not in known][:2]
    low_notes = notes.lower()
    wants_shorter = any(w in low_notes for w in ("shorter", "concise", "brief", "too long"))
    wants_more = any(w in low_notes for w in ("more detail", "longer", "expand", "elaborate"))
    research = sections.get("Research", "")
    research_points = sum(1 for line in research.splitlines() if line.lstrip().startswith(("- ", "* ", "\u2022")))

    lines = [OFFLINE_LABEL, "", f"# {_title(subject)}", f"_Draft revision {revision}_"]
    if feedback:
        lines.append(f"_Revised after AI review: {_one_line(feedback, MAX_FEEDBACK_ECHO_CHARS)}_")

    summary = (
        f"This report looks at {_title(subject)}, focusing on **{terms[0]}**"
        + (f" and **{terms[1]}**" if len(terms) > 1 else "")
        + f". It draws on {research_points or 'the'} research note"
        + ("s" if research_points != 1 else "")
        + " and lists what to verify before anyone acts on it."
    )
    if notes:
        focus = " and ".join(f"**{t}**" for t in note_terms) or "the points raised"
        summary += f" This revision follows the human revision notes, with added attention to {focus}."
    lines += ["", "## Summary", summary]

    lines += ["", "## Key findings"]
    count = 3 if wants_shorter else 5 if wants_more else min(5, max(3, len(terms)))
    for i in range(count):
        template = _pick(_FINDINGS, seed, i)
        lines.append("- " + template.format(t=_term(terms, i), u=_term(terms, i + 1)))
    for t in note_terms:
        lines.append(f"- **{t}** (raised in the revision notes) needs its own check before sign-off.")

    if complete:
        lines += ["", "## Risks"]
        for i in range(3):
            template = _pick(_RISKS, seed, i)
            lines.append("- " + template.format(t=_term(terms, i), u=_term(terms, i + 1)))

    lines += ["", "## Recommendations"]
    for i in range(3):
        template = _pick(_RECOMMENDATIONS, seed, i)
        lines.append("- " + template.format(t=_term(terms, i), u=_term(terms, i + 1)))
    if notes:
        focus = " and ".join(f"**{t}**" for t in note_terms) or "the revision notes"
        lines.append(f"- Act on the revision notes first: follow up on {focus}.")

    lines += ["", "## Sources to verify"]
    for i in range(3):
        lines.append("- " + _pick(_SOURCES, seed, i).format(t=_term(terms, i)))

    if notes:
        lines += ["", "## Revision notes addressed", _quote(notes)]
        for note in _note_lines(notes):
            lines.append(f"- Addressed: \u201c{note}\u201d")
    return "\n".join(lines)


# --------------------------------------------------------------------------- reviewer


def _has_section(draft: str, name: str) -> bool:
    pattern = rf"^[ \t]{{0,3}}(?:#{{1,6}}[ \t]*|\*{{1,2}}|_)?[ \t]*{re.escape(name)}\b"
    return re.search(pattern, draft, re.IGNORECASE | re.MULTILINE) is not None


def review_verdict(subject: str, draft: str) -> dict[str, Any]:
    """The offline reviewer's verdict as a ``ReviewVerdict``-shaped dict."""
    terms = _subject_terms(subject)
    issues: list[str] = []
    feedback: list[str] = []
    if not draft.strip():
        issues.append("The draft is empty.")
        feedback.append("Write the report: the draft is empty.")
    else:
        missing = [s for s in REQUIRED_REPORT_SECTIONS if not _has_section(draft, s)]
        for section in missing:
            issues.append(f"Missing required section: {section}")
            if section == "Risks":
                feedback.append(
                    f"Add a Risks section covering what could go wrong with {terms[0]} (at least two bullets)."
                )
            else:
                feedback.append(f"Add a {section} section.")
        low = draft.lower()
        if key_terms(subject) and not any(t.lower() in low for t in terms):
            issues.append("The draft does not mention the topic's key terms: " + ", ".join(terms[:3]))
            feedback.append(f"Keep the draft on topic: discuss {', '.join(terms[:3])}.")
    if issues:
        return {"approved": False, "feedback": " ".join(feedback), "issues": issues}
    return {
        "approved": True,
        "feedback": (
            "All required sections are present (" + ", ".join(REQUIRED_REPORT_SECTIONS) + ") "
            f"and the draft stays on topic ({terms[0]}). Ready for human sign-off."
        ),
        "issues": [],
    }


def _reviewer(subject: str, sections: dict[str, str]) -> str:
    return json.dumps(review_verdict(subject, sections.get("Draft", "")), ensure_ascii=False)


# --------------------------------------------------------------------------- planner


_PLAN_STEPS = [
    "Clarify the goal and success criteria for **{t}**; expected outcome: a one-paragraph brief everyone agrees on.",
    "Take stock of what exists today around **{t}**; expected outcome: a short inventory with owners.",
    "Design the change to **{t}** in small, reversible increments; expected outcome: an ordered list of increments.",
    "Check dependencies between **{t}** and **{u}**; expected outcome: blockers named and assigned.",
    "Carry out the first increment on **{t}** and measure it; expected outcome: before/after numbers.",
]
_PLAN_LAST = "Review the results with stakeholders and decide on next steps; expected outcome: a recorded decision."


def _planner(subject: str, sections: dict[str, str]) -> str:
    terms = _subject_terms(subject)
    notes = sections.get("Human revision notes", "").strip()
    revision = _revision_number(sections.get("Previous plan"), "Plan")
    steps = [step.format(t=_term(terms, i), u=_term(terms, i + 1)) for i, step in enumerate(_PLAN_STEPS)]
    if len(terms) < 2:
        del steps[3]  # nothing to relate the single term to
    for note in _note_lines(notes):
        steps.append(f"Apply revision note: \u201c{note}\u201d; expected outcome: the note is reflected.")
    steps.append(_PLAN_LAST)

    lines = [OFFLINE_LABEL, "", f"## Plan: {_title(subject)}", f"_Plan revision {revision}_", ""]
    lines += [f"{n}. {step}" for n, step in enumerate(steps, 1)]
    if notes:
        lines += ["", "## Revision notes applied", _quote(notes)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- executor

_STEP_RE = re.compile(r"^\s*(\d{1,3})[.)]\s+(.+)$", re.MULTILINE)
_OUTCOMES = [
    "done in simulation, nothing was changed",
    "simulated; no external system was contacted",
    "simulated; results would be recorded here",
]


def _executor(subject: str, sections: dict[str, str]) -> str:
    plan = sections.get("Approved plan", "")
    steps = [_one_line(m.group(2), MAX_STEP_CHARS) for m in _STEP_RE.finditer(plan)]
    if not steps:  # an unnumbered plan: treat each bullet or line as a step
        steps = [
            _one_line(line.lstrip("-*\u2022 "), MAX_STEP_CHARS)
            for line in plan.splitlines()
            if line.strip() and not line.lstrip().startswith(("#", ">", "_"))
        ]
    skipped = max(0, len(steps) - MAX_STEPS)
    steps = steps[:MAX_STEPS]
    seed = _seed("executor:" + subject)

    lines = [
        OFFLINE_LABEL,
        "",
        f"## Execution report: {_title(subject)}",
        "_Executed (simulated offline): no real systems were touched._",
        "",
    ]
    if not steps:
        lines.append("The approved plan has no steps, so nothing was executed.")
        return "\n".join(lines)
    for n, step in enumerate(steps, 1):
        lines.append(f"{n}. \u2705 {step} \u2014 executed (simulated offline): {_pick(_OUTCOMES, seed, n)}.")
    if skipped:
        lines.append(f"\n_{skipped} further step(s) were not executed: the offline model stops at {MAX_STEPS}._")
    lines += ["", f"**Result:** {len(steps)} of {len(steps) + skipped} steps completed in simulation."]
    return "\n".join(lines)


# --------------------------------------------------------------------------- tool calls

# Channels a task names: a Slack channel link (<#C123|name>) or a #name as typed.
_CHANNEL_REF_RE = re.compile(
    r"<#([CG][A-Z0-9]{2,})(?:\|([^>]*))?>|(?<![\w&])#([a-z0-9][a-z0-9_-]{0,79})", re.IGNORECASE
)
MAX_OFFLINE_TOOL_CALLS = 3
POST_TOOL = "post_message"
# signoff's own MCP tools (bot/api/mcp.py): ask for sign-off, and keep waiting while it is pending.
SIGNOFF_TOOL = "request_signoff"
GET_SIGNOFF_TOOL = "get_signoff"
MAX_SIGNOFF_TITLE_CHARS = 150
MAX_SIGNOFF_POLLS = 5


def channels_named(task: str) -> list[str]:
    """The channels a task names, in order, once each (``C…`` ids or ``#names``)."""
    seen: list[str] = []
    for match in _CHANNEL_REF_RE.finditer(task or ""):
        channel = match.group(1) or f"#{match.group(3).lower()}"
        if channel not in seen:
            seen.append(channel)
    return seen[:MAX_OFFLINE_TOOL_CALLS]


def _task_without_channels(task: str) -> str:
    """What a task asks for, its channel references (and the "in"/"to" before them) left out."""
    what = _CHANNEL_REF_RE.sub("", task or "").strip()
    return re.sub(r"\s+(in|to|on)\s*$", "", re.sub(r"\s+", " ", what)).strip(" .") or "the plan"


def announcement(task: str) -> str:
    """The message the offline executor posts for a task (labelled as offline sample text)."""
    what = _task_without_channels(task)
    return f":mega: {_one_line(what, MAX_STEP_CHARS)}. (Sample text from signoff's offline model.)"


def offline_tool_calls(task: str, tool_names: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """``(tool, arguments)`` the offline executor asks for first: sign-off for the task when it has
    signoff's MCP tool (``request_signoff``), else a post in each channel the task names."""
    if SIGNOFF_TOOL in tool_names:
        request = {"title": _one_line(_task_without_channels(task), MAX_SIGNOFF_TITLE_CHARS)}
        # Asked in the first channel the task links by id (<#C…>); else the server's default one.
        ids = [channel for channel in channels_named(task) if not channel.startswith("#")]
        return [(SIGNOFF_TOOL, request | {"body": announcement(task)} | ({"channel": ids[0]} if ids else {}))]
    if POST_TOOL not in tool_names:
        return []
    return [(POST_TOOL, {"channel": channel, "text": announcement(task)}) for channel in channels_named(task)]


def signoff_pending(output: str) -> str | None:
    """The id of a sign-off still pending, from ``request_signoff``'s or ``get_signoff``'s answer
    (its JSON, bare or as an MCP text part), or None (decided, or not such an answer)."""
    try:
        answer = json.loads(output)
        if isinstance(answer, dict) and isinstance(answer.get("text"), str) and "status" not in answer:
            answer = json.loads(answer["text"])
    except (json.JSONDecodeError, TypeError):
        return None
    if isinstance(answer, dict) and answer.get("status") == "pending" and isinstance(answer.get("id"), str):
        return answer["id"]
    return None


def follow_up_calls(outputs: list[tuple[str, str]], tool_names: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """The executor's next calls once some were answered: while its sign-off is pending, keep
    waiting with ``get_signoff`` as the tool's description says (at most ``MAX_SIGNOFF_POLLS`` times)."""
    if not outputs or GET_SIGNOFF_TOOL not in tool_names:
        return []
    tool, output = outputs[-1]
    pending = signoff_pending(output) if tool in (SIGNOFF_TOOL, GET_SIGNOFF_TOOL) else None
    polls = sum(1 for name, _ in outputs if name == GET_SIGNOFF_TOOL)
    if pending is None or polls >= MAX_SIGNOFF_POLLS:
        return []
    return [(GET_SIGNOFF_TOOL, {"id": pending})]


def tool_outputs(input: str | list[Any] | None) -> list[tuple[str, str]]:
    """``(tool name, output)`` of each tool call answered in the input so far."""
    if not isinstance(input, list):
        return []
    names = {_get(item, "call_id"): _get(item, "name") for item in input if _get(item, "type") == "function_call"}
    return [
        (str(names.get(_get(item, "call_id")) or "tool"), _content_text(_get(item, "output")))
        for item in input
        if _get(item, "type") == "function_call_output"
    ]


def tool_report(task: str, outputs: list[tuple[str, str]]) -> str:
    """The executor's final answer once its tool calls were answered (done, denied or failed)."""
    lines = [OFFLINE_LABEL, "", f"## Execution report: {_title(task)}", ""]
    for n, (tool, output) in enumerate(outputs, 1):
        lines.append(f"{n}. `{tool}`: {_one_line(output, MAX_STEP_CHARS * 2)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- entry points

_HANDLERS = {
    "research": lambda subject, sections: _research(subject),
    "writer": _writer,
    "reviewer": _reviewer,
    "planner": _planner,
    "executor": _executor,
}


def offline_reply(role: str, user_input: str) -> str:
    """The offline model's reply for one call of the agent ``role`` (pure, deterministic)."""
    handler = _HANDLERS.get((role or "").lower())
    if handler is None:
        raise UnknownAgentRoleError(
            f"signoff's offline model does not know the {role!r} agent role; known roles: {', '.join(ROLES)}"
        )
    subject, sections = _parse_prompt(user_input or "")
    return handler(subject, sections)


def offline_reply_for(instructions: str | None, input: str | list[Any] | None) -> tuple[str, str]:
    """``(role, reply)`` for system instructions plus Responses-format input."""
    role = detect_role(instructions)
    return role, offline_reply(role, extract_user_text(input))


# --------------------------------------------------------------------------- Agents SDK model


def _text_message(digest: str, text: str) -> ResponseOutputMessage:
    """The assistant's text answer, with an id derived from what was asked."""
    return ResponseOutputMessage(
        id=f"msg_offline_{digest[:24]}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])],
    )


def _usage(input_tokens: int, output_tokens: int) -> Usage:
    return Usage(
        requests=1, input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens
    )


class OfflineModel(Model):
    """An ``agents.Model`` that answers with :func:`offline_reply`; never touches the network."""

    def __init__(self, model_name: str | None = None) -> None:
        self.model_name = model_name or OFFLINE_MODEL_NAME

    def _respond(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        output_schema: AgentOutputSchemaBase | None,
    ) -> tuple[str, ResponseOutputMessage, Usage, str]:
        role, text = offline_reply_for(system_instructions, input)
        structured = output_schema is not None and not output_schema.is_plain_text()
        if structured and role != "reviewer":
            raise OfflineModelError(
                f"signoff's offline model only produces structured output for the reviewer agent, not the {role} agent"
            )
        digest = hashlib.sha256(
            json.dumps(
                [self.model_name, system_instructions or "", extract_user_text(input)],
                ensure_ascii=False,
            ).encode("utf-8", "replace")
        ).hexdigest()
        input_tokens = estimate_tokens(system_instructions or "") + estimate_tokens(extract_user_text(input))
        usage = _usage(input_tokens, estimate_tokens(text))
        return role, _text_message(digest, text), usage, f"resp_offline_{digest[:24]}"

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any | None = None,
    ) -> ModelResponse:
        role = detect_role(system_instructions)
        tool_names = [getattr(tool, "name", "") for tool in tools]
        if role == "executor" and tool_names:
            return self._executor_with_tools(system_instructions, input, tool_names)
        _, message, usage, response_id = self._respond(system_instructions, input, output_schema)
        return ModelResponse(output=[message], usage=usage, response_id=response_id)

    def _executor_with_tools(
        self, system_instructions: str | None, input: str | list[TResponseInputItem], tool_names: list[str]
    ) -> ModelResponse:
        """Ask for the task's tool calls first; once they are answered, report on them."""
        task, _ = _parse_prompt(extract_user_text(input))
        answered = tool_outputs(input)
        calls = follow_up_calls(answered, tool_names) if answered else offline_tool_calls(task, tool_names)
        digest = hashlib.sha256(
            json.dumps([self.model_name, task, answered], ensure_ascii=False).encode("utf-8", "replace")
        ).hexdigest()
        input_tokens = estimate_tokens(system_instructions or "") + estimate_tokens(json.dumps(input, default=str))
        if calls:
            output: list[Any] = [
                ResponseFunctionToolCall(
                    type="function_call",
                    id=f"fc_offline_{digest[:16]}_{n}",
                    call_id=f"call_offline_{digest[:16]}_{n}",
                    name=name,
                    arguments=json.dumps(arguments, ensure_ascii=False),
                    status="completed",
                )
                for n, (name, arguments) in enumerate(calls)
            ]
            output_tokens = sum(estimate_tokens(json.dumps(arguments)) for _, arguments in calls)
        else:
            text = tool_report(task, answered) if answered else offline_reply("executor", extract_user_text(input))
            output = [_text_message(digest, text)]
            output_tokens = estimate_tokens(text)
        usage = _usage(input_tokens, output_tokens)
        return ModelResponse(output=output, usage=usage, response_id=f"resp_offline_{digest[:24]}")

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any | None = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        raise NotImplementedError(
            "signoff's offline model does not stream; use Runner.run (signoff's workflows never stream model output)"
        )
        yield  # pragma: no cover  (makes this an async generator)


class OfflineModelProvider(ModelProvider):
    """Hands out :class:`OfflineModel` for every model name."""

    def get_model(self, model_name: str | None) -> Model:
        return OfflineModel(model_name)
