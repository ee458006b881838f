"""A profile judged against several card models at once: `profile validate` and `batch create` use it,
since the card model is known only per card (from its ATR) when a batch runs."""

from __future__ import annotations

import os
from typing import Any

from .capacity import capacities_for_model
from .fit import FITTABLE, fit_list
from .load import validate_profile


def validate_for_models(path: str | os.PathLike[str], models: list[str]) -> dict[str, Any]:
    """One profile judged against each card model: errors and warnings of all (each line once, in order),
    and the lists fitted per model. Used by `profile validate` and `batch create`."""
    errors: list[str] = []
    warnings: list[str] = []
    fitted: list[dict[str, Any]] = []
    name = None
    for model in models:
        caps = capacities_for_model(model)
        profile, errs, warns = validate_profile(path, caps)
        errors += [e for e in errs if e not in errors]
        warnings += [w for w in warns if w not in warnings]
        if profile is not None:
            name = profile.name
            for key in FITTABLE:
                _, cut = fit_list(key, getattr(profile, key), getattr(profile.fit, key), caps)
                if cut is not None:
                    fitted.append(cut.as_dict())
    return {"profile": os.fspath(path), "ok": not errors, "errors": errors, "warnings": warnings,
            "name": name if not errors else None, "models": models, "fitted": fitted}
