"""The operators, each with its prior: how many real fixes of its kind the literature counts.

Priors are thousands of fixes in TSSB-3M (Richter & Wehrheim, MSR 2022: 3M single-statement bug
fixes mined from 460K Python projects, classified into the 20 SStuB patterns of ManySStuBs4J /
PySStuBs), where an operator implements one of its patterns. Operators outside its patterns
(multi-statement guards, the exception tuple, the mutable default) carry estimates, marked so,
placed by the studies that report them as common but do not count them comparably.
An operator's prior is split among the alternatives it proposes at one site, so a site with
one plausible edit outranks a site with ten (the probability of each edit, as Prophet ranks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from codeagent.agent.repair import (
    conditions,
    conversions,
    defaults,
    guards,
    handlers,
    insertions,
    literals,
    names,
    operators,
    swaps,
)
from codeagent.agent.repair.edits import Edit
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.source import SourceFile

Generate = Callable[[SourceFile, int, Hint], Iterator[Edit]]


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    generate: Generate
    prior: float
    """Thousands of fixes of this kind (TSSB-3M), or an estimate on that scale."""
    source: str


CATALOG: tuple[Operator, ...] = (
    Operator("identifier", names.identifier, 237, "TSSB-3M Change Identifier Used"),
    Operator("function_name", names.function_name, 134, "TSSB-3M Wrong Function Name"),
    Operator("sibling_method", names.sibling_method, 134, "TSSB-3M Wrong Function Name"),
    Operator(
        "add_conversion", conversions.add_conversion, 117, "TSSB-3M Add Function Around Expression"
    ),
    Operator("attribute", names.attribute, 104, "TSSB-3M Change Attribute Used"),
    Operator("numeric_literal", literals.numeric_literal, 97, "TSSB-3M Change Numeric Literal"),
    Operator("more_specific_if", conditions.more_specific_if, 68, "TSSB-3M More Specific If"),
    Operator(
        "none_guard", guards.none_guard, 60, "estimate: Sobreira et al. 2018 missing null check"
    ),
    Operator(
        "off_by_one", literals.off_by_one, 60, "estimate: Change Binary Operand (174K) in part"
    ),
    Operator(
        "string_literal", literals.string_literal, 40, "estimate: TSSB-3M single-token changes"
    ),
    Operator("boolean_literal", operators.boolean_literal, 37, "TSSB-3M Change Boolean Literal"),
    Operator("comparison", operators.comparison, 29, "TSSB-3M Change Binary Operator"),
    Operator("arithmetic", operators.arithmetic, 29, "TSSB-3M Change Binary Operator"),
    Operator("boolean_operator", operators.boolean_operator, 29, "TSSB-3M Change Binary Operator"),
    Operator("subscript_get", names.subscript_get, 25, "estimate: Wrong Function Name on mappings"),
    Operator("less_specific_if", conditions.less_specific_if, 22, "TSSB-3M Less Specific If"),
    Operator("exception_type", handlers.exception_type, 20, "estimate: BugsInPy handler fixes"),
    Operator("or_default", guards.or_default, 20, "estimate: NPEfix replacement strategy"),
    Operator(
        "unwrap_conversion", conversions.unwrap_conversion, 20, "estimate: inverse of Add Function"
    ),
    Operator("negation", operators.negation, 15, "TSSB-3M Change Unary Operator"),
    Operator("mutable_default", defaults.mutable_default, 10, "estimate: pylint W0102"),
    Operator("swap_arguments", swaps.swap_arguments, 8, "TSSB-3M Same Function Swap Args"),
    Operator("swap_operands", swaps.swap_operands, 8, "estimate: as Same Function Swap Args"),
    Operator(
        "reset_in_loop",
        insertions.reset_in_loop,
        15,
        "estimate: missing statement (GenProg insert)",
    ),
    Operator(
        "flush_after_loop",
        insertions.flush_after_loop,
        15,
        "estimate: missing statement (GenProg insert)",
    ),
)

# Exception names that make an operator likelier (its prior is multiplied by the factor).
_BOOSTS: dict[str, tuple[tuple[str, float], ...]] = {
    "exception_type": (("*", 4.0),),
    "none_guard": (("TypeError", 3.0), ("AttributeError", 3.0)),
    "or_default": (("TypeError", 2.0), ("AttributeError", 2.0)),
    "more_specific_if": (("TypeError", 2.0), ("AttributeError", 2.0)),
    "subscript_get": (("KeyError", 4.0),),
    "off_by_one": (("IndexError", 3.0),),
    "numeric_literal": (("IndexError", 2.0),),
    "identifier": (("NameError", 3.0), ("UnboundLocalError", 3.0)),
    "attribute": (("AttributeError", 2.0),),
}


def boost(operator: str, hint: Hint) -> float:
    """How much likelier ``operator`` is given the exceptions the failure shows."""
    raised = set(hint.exceptions) - {"AssertionError"}  # every failing test shows that one
    factor = 1.0
    for exception, multiplier in _BOOSTS.get(operator, ()):
        if (exception == "*" and raised) or exception in raised:
            factor = max(factor, multiplier)
    return factor
