"""HTTP API: one flask-smorest blueprint module per resource, each listed once in `register_blueprints`."""

from __future__ import annotations


def register_blueprints(api) -> None:
    """Every resource the API serves, in the order the OpenAPI document lists them."""
    from timebank.api import (
        api_keys,
        appraisal,
        attendance,
        audit_log,
        cobuilding,
        employers,
        health,
        hours,
        joining,
        ledger,
        merchant_profiles,
        merchants,
        needs,
        notifications,
        orgs,
        people,
        projects,
        redemptions,
        report_in,
        rewards,
        settlements,
        tasks,
        teams,
        tokens,
        wishes,
    )

    for module in (api_keys, appraisal, attendance, audit_log, employers, health, hours, ledger, merchant_profiles,
                   merchants, needs, notifications, orgs, people, redemptions, report_in, rewards, settlements,
                   tasks, tokens, joining, teams, cobuilding, wishes, projects):
        api.register_blueprint(module.blp)
