"""Use the learner's own function in a demo when it works, a trusted answer when it does not.

Demos after an exercise are more convincing with the learner's code, but the notebook
must still run top to bottom before the exercise is done. :func:`learner_or_fallback`
tries the learner's function, checks its result against a trusted one, and says in a
note which of the two the figure shows.

>>> import numpy as np
>>> def mine(x): raise NotImplementedError
>>> result, note = learner_or_fallback(mine, np.cumsum, np.arange(3))
>>> result, note
(array([0, 1, 3]), 'the reference result is shown: mine is not implemented yet')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["close_arrays", "learner_or_fallback"]


def close_arrays(mine: Any, trusted: Any) -> bool:
    """Same shape and values within float tolerance."""
    try:
        mine_array = np.asarray(mine, dtype=float)
        return mine_array.shape == np.shape(trusted) and bool(np.allclose(mine_array, trusted))
    except (ValueError, TypeError):
        return False


def learner_or_fallback(function: Callable[..., Any], fallback: Callable[..., Any], *args: Any,
                        agree: Callable[[Any, Any], bool] = close_arrays,
                        shown: str = "the reference result is shown",
                        name: str | None = None) -> tuple[Any, str]:
    """``(result, note)``: the learner's result if ``agree`` with the fallback's, else the fallback's.

    ``shown`` starts the note when the fallback's result is used instead; ``name`` is the
    learner's function as the note calls it (default: ``function``'s own name — pass it when
    ``function`` is a lambda binding the learner's keyword arguments).
    """
    name = name or getattr(function, "__name__", "your function")
    trusted = fallback(*args)
    try:
        mine = function(*args)
    except NotImplementedError:
        return trusted, f"{shown}: {name} is not implemented yet"
    except Exception as error:  # noqa: BLE001 - any learner error is explained, not raised
        return trusted, f"{shown}: your {name} raised {type(error).__name__}"
    if not agree(mine, trusted):
        return trusted, f"{shown}: your {name} gives a different answer"
    return (np.asarray(mine) if agree is close_arrays else trusted), f"computed by your {name}"
