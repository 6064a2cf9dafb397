"""People joining on their own and in bulk: self-registration with a phone code and a real name, the join
request a community decides, password reset by code, the volunteer number, and bulk import of people (volunteers,
in-service party members) from a spreadsheet. It sits above `notify` (codes, the join decision told) and below
the domains that put people to work."""
