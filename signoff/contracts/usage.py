"""Token usage summed per workflow run, and its estimated cost from a price table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from signoff.contracts.workflow_io import ModelPrice, TokenUsage


@dataclass
class ModelUsage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class UsageMeter:
    """Every model call's tokens, by model (so each model's price applies to its own tokens)."""

    by_model: dict[str, ModelUsage] = field(default_factory=dict)

    def add(self, model: str, requests: int, input_tokens: int, output_tokens: int) -> None:
        usage = self.by_model.setdefault(model, ModelUsage())
        usage.requests += requests
        usage.input_tokens += input_tokens
        usage.output_tokens += output_tokens

    @property
    def total_tokens(self) -> int:
        return sum(u.input_tokens + u.output_tokens for u in self.by_model.values())

    def summary(self, prices: Sequence[ModelPrice]) -> TokenUsage:
        """The totals; the cost is None when a model that was used has no price."""
        table = {price.model: price for price in prices}
        total = TokenUsage()
        cost: float | None = 0.0
        for model, usage in self.by_model.items():
            total.requests += usage.requests
            total.input_tokens += usage.input_tokens
            total.output_tokens += usage.output_tokens
            price = table.get(model)
            if price is None:
                if usage.input_tokens or usage.output_tokens:
                    cost = None
                continue
            if cost is not None:
                cost += (
                    usage.input_tokens * price.input_per_million + usage.output_tokens * price.output_per_million
                ) / 1_000_000
        total.cost_usd = cost
        return total


def format_cost(cost_usd: float | None) -> str:
    if cost_usd is None:
        return "no estimate (a model has no price in SIGNOFF_MODEL_PRICES)"
    if cost_usd < 0.01:
        return f"≈ ${cost_usd:.4f}"
    return f"≈ ${cost_usd:,.2f}"


def usage_line(usage: TokenUsage) -> str:
    """e.g. '12,345 tokens (10,000 in, 2,345 out) in 6 model calls, ≈ $0.03'."""
    calls = f"{usage.requests} model call{'s' if usage.requests != 1 else ''}"
    return (
        f"{usage.total_tokens:,} tokens ({usage.input_tokens:,} in, {usage.output_tokens:,} out) "
        f"in {calls}, {format_cost(usage.cost_usd)}"
    )
