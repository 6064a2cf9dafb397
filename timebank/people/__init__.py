"""Who is who: the governance tree (orgs, branches), persons, roles and their scope, employers and merchants,
the credentials that prove an actor (passwords, API keys, bearer tokens)."""
