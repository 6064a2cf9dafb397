"""HTTP API: one flask-smorest blueprint module per resource, each listed once in `register_blueprints`."""

from __future__ import annotations


def register_blueprints(api) -> None:
    """Every resource the API serves, in the order the OpenAPI document lists them."""
    from timebank.api import (
        api_keys,
        appraisal,
        attendance,
        audit_log,
        cobuilding,  # cobuilding: unit report-in, resources, agreements, contributions, 双评议
        employers,
        health,
        hours,
        ledger,
        merchant_profiles,
        merchants,
        needs,
        notifications,
        orgs,
        people,
        redemptions,
        report_in,
        rewards,
        settlements,
        tasks,
        tokens,
    )

    for module in (api_keys, appraisal, attendance, audit_log, employers, health, hours, ledger, merchant_profiles,
                   merchants, needs, notifications, orgs, people, redemptions, report_in, rewards, settlements,
                   tasks, tokens, cobuilding):
        api.register_blueprint(module.blp)

    # joining: sign-up, join requests, password reset by code, bulk import
    from timebank.api import joining

    api.register_blueprint(joining.blp)
    # --- teams (志愿服务队) ---
    from timebank.api import teams

    api.register_blueprint(teams.blp)
